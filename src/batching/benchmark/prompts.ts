// The benchmark's prompts: code-flavoured, as an editor sends them. Completion-style code
// prefixes and chat-style questions; short (one line or so), medium (a function or a
// paragraph with code) and long (a file-sized context).
import type { BenchmarkPromptSet } from '../../shared/protocol';

const SHORT = [
  'def fibonacci(n):\n    """Return the n-th Fibonacci number."""\n',
  'What is the difference between `let` and `const` in JavaScript?',
  'export function debounce<T extends (...args: any[]) => void>(fn: T, ms: number) {\n',
  '# Read a CSV file with pandas and print the first five rows\nimport pandas as pd\n',
  'Write a SQL query that returns the ten customers with the highest total order value.',
];

const MEDIUM = [
  `import { readFile } from 'node:fs/promises';

interface Config {
  port: number;
  host: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
}

const DEFAULTS: Config = { port: 8080, host: '127.0.0.1', logLevel: 'info' };

/** Loads a JSON config file, fills in defaults and validates every field. */
export async function loadConfig(path: string): Promise<Config> {
`,
  `I have this Python function and it is slow on large inputs. Why, and how would you make it faster?

def find_duplicates(items):
    duplicates = []
    for i in range(len(items)):
        for j in range(i + 1, len(items)):
            if items[i] == items[j] and items[i] not in duplicates:
                duplicates.append(items[i])
    return duplicates`,
  `#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Node {
    int key;
    struct Node *left;
    struct Node *right;
} Node;

Node *node_new(int key) {
    Node *n = malloc(sizeof(Node));
    n->key = key;
    n->left = n->right = NULL;
    return n;
}

/* Inserts key into the binary search tree rooted at root and returns the new root. */
Node *bst_insert(Node *root, int key) {
`,
  `Explain what this Rust code does, line by line, and whether it can panic:

fn parse_pairs(input: &str) -> Vec<(String, u32)> {
    input
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut parts = l.splitn(2, '=');
            let key = parts.next().unwrap().trim().to_string();
            let value = parts.next().unwrap().trim().parse().unwrap();
            (key, value)
        })
        .collect()
}`,
  `package main

import (
	"encoding/json"
	"net/http"
	"sync"
)

type Store struct {
	mu    sync.RWMutex
	items map[string]string
}

func NewStore() *Store {
	return &Store{items: make(map[string]string)}
}

// ServeHTTP handles GET /items/{key} and PUT /items/{key} with a JSON body {"value": "..."}.
func (s *Store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
`,
];

const LONG = [
  `// A small event-sourced bank account module. Complete the missing reducer and the
// projection that computes monthly statements.

export type AccountEvent =
  | { type: 'opened'; accountId: string; owner: string; at: string }
  | { type: 'deposited'; accountId: string; amountCents: number; at: string; memo?: string }
  | { type: 'withdrawn'; accountId: string; amountCents: number; at: string; memo?: string }
  | { type: 'transferred'; from: string; to: string; amountCents: number; at: string }
  | { type: 'closed'; accountId: string; at: string };

export interface AccountState {
  id: string;
  owner: string;
  balanceCents: number;
  open: boolean;
  history: { at: string; deltaCents: number; memo?: string }[];
}

export class DomainError extends Error {
  constructor(readonly code: 'not_found' | 'closed' | 'insufficient_funds' | 'invalid_amount', message: string) {
    super(message);
  }
}

function assertAmount(amountCents: number): void {
  if (!Number.isInteger(amountCents) || amountCents <= 0) {
    throw new DomainError('invalid_amount', \`amount must be a positive integer number of cents, got \${amountCents}\`);
  }
}

export function decide(state: Map<string, AccountState>, command: { kind: string; [k: string]: unknown }): AccountEvent[] {
  const now = new Date().toISOString();
  switch (command.kind) {
    case 'open':
      return [{ type: 'opened', accountId: String(command.accountId), owner: String(command.owner), at: now }];
    case 'deposit': {
      const acc = state.get(String(command.accountId));
      if (!acc) throw new DomainError('not_found', 'no such account');
      if (!acc.open) throw new DomainError('closed', 'account is closed');
      assertAmount(Number(command.amountCents));
      return [{ type: 'deposited', accountId: acc.id, amountCents: Number(command.amountCents), at: now }];
    }
    case 'withdraw': {
      const acc = state.get(String(command.accountId));
      if (!acc) throw new DomainError('not_found', 'no such account');
      if (!acc.open) throw new DomainError('closed', 'account is closed');
      assertAmount(Number(command.amountCents));
      if (acc.balanceCents < Number(command.amountCents)) throw new DomainError('insufficient_funds', 'balance too low');
      return [{ type: 'withdrawn', accountId: acc.id, amountCents: Number(command.amountCents), at: now }];
    }
    default:
      throw new Error(\`unknown command \${command.kind}\`);
  }
}

/** Applies one event to the state; must be pure and must handle every event type. */
export function evolve(state: Map<string, AccountState>, event: AccountEvent): Map<string, AccountState> {
  const next = new Map(state);
`,
  `I am designing a rate limiter for an HTTP API written in Python with asyncio. Requirements:
each API key may make at most 100 requests per minute and at most 10 per second; limits are
shared between 4 worker processes on one machine; when a client is over the limit we answer
429 with a Retry-After header that tells them exactly how long to wait; and the limiter must
not become the bottleneck at 5,000 requests per second in total.

Here is my first attempt, which keeps counters in memory:

import time
from collections import defaultdict, deque

class SlidingWindowLimiter:
    def __init__(self, per_second=10, per_minute=100):
        self.per_second = per_second
        self.per_minute = per_minute
        self.hits = defaultdict(deque)

    def allow(self, key):
        now = time.monotonic()
        q = self.hits[key]
        while q and now - q[0] > 60:
            q.popleft()
        last_second = sum(1 for t in q if now - t <= 1)
        if last_second >= self.per_second or len(q) >= self.per_minute:
            return False, self.retry_after(q, now)
        q.append(now)
        return True, 0

    def retry_after(self, q, now):
        if len(q) >= self.per_minute:
            return 60 - (now - q[0])
        recent = [t for t in q if now - t <= 1]
        return 1 - (now - recent[0])

Questions: (1) What is wrong with this when there are 4 worker processes? (2) Is counting the
last second by scanning the deque a problem at this load? (3) Would you use Redis, a token
bucket, or something else, and what would the Lua script or data layout look like? (4) How do
I test the Retry-After value so that the tests are not flaky? Please answer each point with code.`,
  `#!/usr/bin/env python3
"""Incremental backup tool.

Walks a source directory, hashes every file with BLAKE2b, and copies files whose content
changed since the last run into a content-addressed store. A manifest (JSON) maps each
relative path to its hash, size and mtime. Restoring reads a manifest and rebuilds the tree.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass, asdict
from pathlib import Path
from typing import Iterator

CHUNK = 1 << 20


@dataclass(frozen=True)
class Entry:
    path: str
    digest: str
    size: int
    mtime_ns: int


def hash_file(path: Path) -> str:
    h = hashlib.blake2b(digest_size=20)
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def walk(root: Path, exclude: list[str]) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in exclude]
        for name in filenames:
            p = Path(dirpath) / name
            if p.is_symlink():
                continue
            yield p


def load_manifest(path: Path) -> dict[str, Entry]:
    if not path.exists():
        return {}
    raw = json.loads(path.read_text())
    return {k: Entry(**v) for k, v in raw["entries"].items()}


def save_manifest(path: Path, entries: dict[str, Entry]) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps({"version": 1, "entries": {k: asdict(v) for k, v in entries.items()}}, indent=1))
    os.replace(tmp, path)


def store_path(store: Path, digest: str) -> Path:
    return store / digest[:2] / digest[2:]


def backup(source: Path, store: Path, manifest_path: Path, exclude: list[str]) -> tuple[int, int]:
    """Returns (files copied, bytes copied). Skips files whose size and mtime are unchanged."""
    old = load_manifest(manifest_path)
    new: dict[str, Entry] = {}
    copied = copied_bytes = 0
`,
  `Review this React component for bugs, performance problems and accessibility issues, then
rewrite it. It renders a searchable, keyboard-navigable list of users fetched from an API.

import React, { useEffect, useState } from 'react';

export function UserPicker({ onSelect }) {
  const [query, setQuery] = useState('');
  const [users, setUsers] = useState([]);
  const [active, setActive] = useState(0);

  useEffect(() => {
    fetch('/api/users?q=' + query)
      .then((r) => r.json())
      .then((data) => setUsers(data.users));
  });

  const filtered = users.filter((u) => u.name.toLowerCase().includes(query.toLowerCase()));

  function onKeyDown(e) {
    if (e.key === 'ArrowDown') setActive(active + 1);
    if (e.key === 'ArrowUp') setActive(active - 1);
    if (e.key === 'Enter') onSelect(filtered[active]);
  }

  return (
    <div onKeyDown={onKeyDown}>
      <input value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Search users" />
      <ul>
        {filtered.map((u, i) => (
          <li key={i} style={{ background: i === active ? '#ddd' : 'white' }} onClick={() => onSelect(u)}>
            <img src={u.avatarUrl} />
            {u.name} ({u.email})
          </li>
        ))}
      </ul>
    </div>
  );
}

I noticed that the network tab shows a request on every render, that the highlighted row
sometimes disappears past the end of the list, and that screen reader users cannot tell which
item is active. Please explain each problem you find, in order of severity, and give the
corrected component with hooks, an AbortController for stale requests, a debounce on the
query, and the right ARIA roles (combobox and listbox).`,
  `-- Schema of a small issue tracker (PostgreSQL 16).
CREATE TABLE users (
  id          bigserial PRIMARY KEY,
  email       text NOT NULL UNIQUE,
  name        text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
  id          bigserial PRIMARY KEY,
  key         text NOT NULL UNIQUE CHECK (key ~ '^[A-Z]{2,10}$'),
  name        text NOT NULL,
  owner_id    bigint NOT NULL REFERENCES users(id)
);

CREATE TYPE issue_state AS ENUM ('open', 'in_progress', 'review', 'closed');

CREATE TABLE issues (
  id          bigserial PRIMARY KEY,
  project_id  bigint NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
  number      integer NOT NULL,
  title       text NOT NULL,
  body        text NOT NULL DEFAULT '',
  state       issue_state NOT NULL DEFAULT 'open',
  assignee_id bigint REFERENCES users(id),
  created_at  timestamptz NOT NULL DEFAULT now(),
  closed_at   timestamptz,
  UNIQUE (project_id, number),
  CHECK ((state = 'closed') = (closed_at IS NOT NULL))
);

CREATE TABLE issue_events (
  id          bigserial PRIMARY KEY,
  issue_id    bigint NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
  actor_id    bigint NOT NULL REFERENCES users(id),
  kind        text NOT NULL,
  from_state  issue_state,
  to_state    issue_state,
  at          timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX issues_project_state ON issues (project_id, state);
CREATE INDEX issue_events_issue_at ON issue_events (issue_id, at);

-- 1. A function that allocates the next issue number per project without races.
-- 2. A trigger that records every state change in issue_events.
-- 3. A query: for each project, the median time from 'open' to 'closed' over the last 90 days,
--    and the assignee who closed the most issues in that period.

CREATE OR REPLACE FUNCTION next_issue_number(p_project_id bigint) RETURNS integer
LANGUAGE plpgsql AS $$
`,
];

/**
 * The source files the editor scenario types in and asks about when it is given none: the
 * file-sized code among the prompts, under the names such files have in a project.
 */
export const EDITOR_SOURCE_FILES: readonly { path: string; text: string }[] = [
  { path: 'src/accounts.ts', text: LONG[0] },
  { path: 'src/config.ts', text: MEDIUM[0] },
  { path: 'scripts/report.py', text: LONG[2] },
  { path: 'db/schema.sql', text: LONG[4] },
];

/** 15 prompts: 5 short, 5 medium, 5 long. */
export const BENCHMARK_PROMPTS: Readonly<Record<BenchmarkPromptSet, readonly string[]>> = {
  short: SHORT,
  medium: MEDIUM,
  long: LONG,
};

/** The prompts of the chosen sets, interleaved (short, medium, long, short, ...) so any prefix mixes lengths. */
export function benchmarkPrompts(sets: readonly BenchmarkPromptSet[] = ['short', 'medium', 'long']): string[] {
  const lists = sets.map((s) => BENCHMARK_PROMPTS[s]);
  const out: string[] = [];
  const n = Math.max(0, ...lists.map((l) => l.length));
  for (let i = 0; i < n; i++) for (const l of lists) if (i < l.length) out.push(l[i]);
  return out;
}
