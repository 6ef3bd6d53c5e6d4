// The extension as a user meets it: VS Code in the browser, driven by clicks and keystrokes.
// One editor and one page for the whole file; the tests run in order on the same window.
import assert from 'node:assert/strict';
import type { FrameLocator, Page } from 'playwright-core';
import { SCENARIO_LABELS } from '../../src/extension/benchmark/scenarios';
import { metric, metrics, occupy, prerequisites, saveFailure, saveScreenshot, serverGet, serverInfo, startEditor, waitUntil, type Editor, type Metrics, type Occupation, type ServerInfo } from './harness';

// The item's id is `<extension id>.mlxBatch.status` (code-server may name the extension differently).
const STATUS = '.statusbar-item[id$=".mlxBatch.status"]';
const statusLabel = (page: Page) => page.evaluate((sel) => {
  const item = document.querySelector(sel);
  return item?.querySelector('[aria-label]')?.getAttribute('aria-label') ?? item?.getAttribute('aria-label') ?? '';
}, STATUS);
/** Text of the editor's visible lines (VS Code renders spaces as no-break spaces). */
const editorText = (page: Page) => page.locator('.editor-instance .view-lines').first().innerText().then((t) => t.replace(/\u00a0/g, ' '));
const ghostText = (page: Page) => page.locator('.editor-instance .ghost-text-decoration, .editor-instance .ghost-text').allInnerTexts()
  .then((all) => all.join('\n').replace(/\u00a0/g, ' '));

describe('e2e: the extension in VS Code (code-server + Chromium)', function () {
  this.timeout(300_000);
  let editor: Editor | undefined;
  let page: Page;
  let chat: FrameLocator;

  before(async function () {
    this.timeout(900_000); // the first run installs code-server (3-5 minutes)
    const pre = prerequisites();
    editor = await startEditor('ui', pre.pkg);
    page = await editor.newPage();
    await page.goto(`${editor.url}/?folder=${encodeURIComponent(editor.workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 120_000 });
  });

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') await saveFailure(editor, page, `e2e ${this.currentTest.title}`);
  });

  after(async () => {
    await editor?.close();
  });

  const benchmarkView = (): FrameLocator => page.frameLocator('iframe.webview').last().frameLocator('#active-frame');
  const waitLabel = (re: RegExp, timeoutMs: number) => waitUntil(`the status item to read ${re}`, async () => re.test(await statusLabel(page)), timeoutMs);
  const server = (): Promise<ServerInfo> => waitUntil('the server URL in the extension log', () => serverInfo(editor!), 60_000);

  it('status bar shows the server ready with the live batch', async () => {
    await waitLabel(/^MLX Batch: ready, batching on, \d+ of 4 running/, 180_000);
    assert.match(await page.locator(STATUS).innerText(), /MLX \d+\/4/);
    await page.locator(STATUS).hover();
    await page.locator('.monaco-hover', { hasText: 'Continuous batching: on' }).first().waitFor({ timeout: 10_000 });
    await saveScreenshot(page, 'status-bar');
  });

  it('clicking the status item turns batching off and on, and the server reports it', async () => {
    const s = await server();
    const batching = async () => ((await (await serverGet(s, '/v1/batching')).json()) as { enabled: boolean }).enabled;
    assert.equal(await batching(), true);
    await page.locator(STATUS).click();
    await waitLabel(/batching off/, 30_000);
    assert.equal(await batching(), false);
    assert.equal(await metric(s, 'mlx_batch_batching_enabled'), 0);
    await saveScreenshot(page, 'status-bar-sequential');
    await page.locator(STATUS).click();
    await waitLabel(/batching on/, 30_000);
    assert.equal(await batching(), true);
  });

  async function openFile(name: string): Promise<void> {
    await page.locator('.monaco-workbench').click({ position: { x: 640, y: 400 } }).catch(() => undefined);
    await page.keyboard.press('Control+P');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type(name);
    // Enter opens the focused row: wait until the filtered list has focused the file.
    await page.locator('.quick-input-list .monaco-list-row.focused', { hasText: name }).first().waitFor();
    await page.keyboard.press('Enter');
    await page.locator(`.tab.active[aria-label^="${name}"]`).waitFor();
    await page.locator('.editor-instance .monaco-editor textarea').first().focus();
  }

  /** Types `text` one key at a time, then more until ghost text shows (a model may first offer nothing). */
  async function typeUntilGhost(text: string, more: string[]): Promise<string> {
    await page.keyboard.type(text, { delay: 30 });
    for (const extra of ['', ...more]) {
      if (extra) await page.keyboard.type(extra, { delay: 30 });
      const shown = await page.locator('.editor-instance .ghost-text-decoration, .editor-instance .ghost-text').first()
        .waitFor({ timeout: 30_000 }).then(() => true, () => false);
      if (shown && (await ghostText(page)).trim()) return ghostText(page);
    }
    throw new Error(`no ghost text after typing ${JSON.stringify(text)} and ${JSON.stringify(more)}`);
  }

  it('typing in a TypeScript file shows ghost text from the model; Tab accepts it', async () => {
    await openFile('math.ts');
    await page.keyboard.press('Control+End');
    const ghost = await typeUntilGhost('export function square(x: number): number {\n', ['  return ', 'x', ' *']);
    await saveScreenshot(page, 'inline-completion');
    const first = ghost.split('\n').map((l) => l.trim()).find((l) => l.length > 0)!;
    // When a suggestion starts with more indentation than the cursor has, VS Code's first Tab
    // indents the line (as for a user) and the ghost text stays: Tab again accepts it.
    for (let press = 0; press < 3 && (await ghostText(page)).trim(); press++) {
      await page.keyboard.press('Tab');
      await waitUntil('the ghost text to go', async () => (await ghostText(page)) === '', 2_000).catch(() => undefined);
    }
    await waitUntil('the accepted text in the document', async () => (await ghostText(page)) === '' && (await editorText(page)).includes(first), 10_000);
  });

  it('typing on cancels the stale request on the server', async () => {
    const s = await server();
    await openFile('todo.ts');
    await page.keyboard.press('Control+End');
    // A busy server, whatever the model writes: long requests (ended only by this test) fill every
    // row and the queue ahead, so the editor's request waits and cannot finish before it is stale.
    const long = (await metric(s, 'mlx_batch_max_batch_size')) + 1;
    const load = (m: Metrics) => m('mlx_batch_requests_running') + m('mlx_batch_requests_waiting');
    await waitUntil('an idle server', async () => load(await metrics(s)) === 0, 60_000);
    const busy = occupy(s, long);
    let edits = 0;
    try {
      await waitUntil('the long requests on the server', async () => load(await metrics(s)) === long, 30_000, busy.over);
      await page.keyboard.press('Enter');
      edits += 1;
      const queued = await waitUntil('the completion request queued on the server', async () => {
        const m = await metrics(s);
        return load(m) > long ? m : undefined;
      }, 30_000, busy.over);
      // '(' closes itself, so the text after the cursor changes: the queued request cannot answer
      // the new position and the extension drops it (latest wins).
      await page.keyboard.type('(');
      edits += 1;
      await waitUntil('"(" closed by the editor', async () => (await editorText(page)).split('\n').some((l) => l.trim() === '()'), 10_000);
      await waitUntil('the server to count the cancelled request', async () => {
        const m = await metrics(s);
        return m('mlx_batch_client_disconnects_total') > queued('mlx_batch_client_disconnects_total') &&
          m('mlx_batch_requests_finished_total', 'reason="abort"') > queued('mlx_batch_requests_finished_total', 'reason="abort"');
      }, 30_000, busy.over);
    } finally {
      await busy.release();
      await page.keyboard.press('Escape');
      for (; edits > 0; edits--) await page.keyboard.press('Control+Z');
    }
    // The next tests start with todo.ts as it was and an idle server.
    await waitUntil('the server to be idle', async () => load(await metrics(s)) === 0, 60_000);
  });

  async function openChat(): Promise<void> {
    await page.locator('.activitybar [aria-label^="MLX Batch"]').first().click();
    chat = page.frameLocator('iframe.webview').first().frameLocator('#active-frame');
    await chat.locator('#prompt').waitFor({ timeout: 60_000 });
  }

  /** Sends a question; resolves once its answer has started (true when it was seen streaming). */
  async function ask(question: string): Promise<boolean> {
    const before = await chat.locator('.message.assistant').count();
    // Record streaming even if the answer is complete before the next poll.
    await chat.locator('body').evaluate((body) => {
      const w = window as unknown as { sawStreaming: boolean };
      w.sawStreaming = false;
      new MutationObserver(() => {
        if (body.querySelector('.message.assistant[data-streaming="true"]')) w.sawStreaming = true;
      }).observe(body, { subtree: true, childList: true, attributes: true });
    });
    await chat.locator('#prompt').fill(question);
    await chat.locator('#send').click();
    await waitUntil('the answer to start', async () => (await chat.locator('.message.assistant').count()) > before, 60_000);
    return chat.locator('body').evaluate(() => (window as unknown as { sawStreaming: boolean }).sawStreaming);
  }

  const lastAnswer = () => chat.locator('.message.assistant').last();

  it('the chat panel answers with streaming text', async () => {
    await openChat();
    assert.equal(await ask('Write a TypeScript function that returns the larger of two numbers.'), true, 'the answer streamed');
    await chat.locator('.message.assistant:not([data-streaming]) .message-actions').last().waitFor({ timeout: 180_000 });
    assert.equal(await lastAnswer().locator('.message-actions').count(), 1);
    const text = (await lastAnswer().locator('.body').innerText()).trim();
    assert.ok(text.length > 0, 'a non-empty answer');
    assert.equal(await lastAnswer().locator('.note', { hasText: 'stopped' }).count(), 0);
    await saveScreenshot(page, 'chat');
  });

  /** Long requests (ended only by the test) on every row of the batch, running. */
  async function holdEveryRow(s: ServerInfo): Promise<Occupation> {
    const rows = await metric(s, 'mlx_batch_max_batch_size');
    const busy = occupy(s, rows);
    await waitUntil('the long requests on the server', async () => (await metric(s, 'mlx_batch_requests_running')) === rows, 30_000, busy.over)
      .catch(async (e: unknown) => { await busy.release(); throw e; });
    return busy;
  }

  it('Stop ends a second answer early', async () => {
    // The answer must still be running when Stop is clicked, whatever the model writes: long
    // requests hold every row, so the question waits on the server until Stop cancels it.
    const s = await server();
    const aborted = () => metric(s, 'mlx_batch_requests_finished_total', 'reason="abort"');
    const busy = await holdEveryRow(s);
    try {
      const before = await aborted();
      await ask('Count from 1 to 500, one number per line.');
      await waitUntil('the question waiting on the server', async () => (await metric(s, 'mlx_batch_requests_waiting')) > 0, 30_000, busy.over);
      await chat.locator('#stop').click();
      await lastAnswer().locator('.note', { hasText: 'stopped' }).waitFor({ timeout: 30_000 });
      await waitUntil('the server to count the stopped answer', async () => (await aborted()) > before, 30_000, busy.over);
    } finally {
      await busy.release();
    }
    assert.equal(await chat.locator('.message.assistant[data-streaming="true"]').count(), 0);
    assert.equal(await chat.locator('#send').isEnabled(), true);
  });

  it('two chats streaming at once both finish', async () => {
    // Both answers in flight at once, whatever the model writes (a small model may answer in a
    // few tokens): long requests hold every row while both questions are sent, then leave, and
    // the two chats run in the batch together.
    const busy = await holdEveryRow(await server());
    let ids: string[];
    try {
      ids = await askTwo();
    } finally {
      await busy.release();
    }
    await waitUntil('both answers to finish', async () => (await chat.locator('.chat-tab.streaming').count()) === 0, 180_000);
    for (const id of ids) {
      await chat.locator(`.chat-tab[data-chat-id="${id}"]`).click();
      await chat.locator(`.chat-tab.active[data-chat-id="${id}"]`).waitFor();
      const answer = chat.locator('.message.assistant').last();
      await answer.locator('.message-actions').waitFor({ timeout: 10_000 });
      assert.ok((await answer.locator('.body').innerText()).trim().length > 0, `chat ${id} has an answer`);
      assert.equal(await answer.locator('.note', { hasText: 'stopped' }).count(), 0);
    }
  });

  /** Two new chats, one question each; both must be answering at once. Returns their ids. */
  async function askTwo(): Promise<string[]> {
    const ids: string[] = [];
    for (const question of ['Explain continuous batching in two sentences.', 'What is a KV cache? Answer briefly.']) {
      // A new chat is made by the extension: ask only once the panel shows it.
      const previous = await chat.locator('.chat-tab.active').getAttribute('data-chat-id');
      await chat.locator('#new-chat').click();
      await waitUntil('a new chat', async () => (await chat.locator('.chat-tab.active').getAttribute('data-chat-id')) !== previous, 10_000);
      await ask(question);
      ids.push((await chat.locator('.chat-tab.active').getAttribute('data-chat-id'))!);
    }
    const streaming = await chat.locator('.chat-tab.streaming').count();
    await saveScreenshot(page, 'chat-parallel');
    assert.equal(streaming, 2, 'both chats answering at the same time');
    return ids;
  }

  it('"Run Throughput Benchmark" from the command palette shows the results table and charts', async () => {
    await openFile('math.ts');
    await page.keyboard.press('Control+Shift+P');
    await page.locator('.quick-input-widget input').waitFor();
    await page.keyboard.type('MLX Batch: Run Throughput Benchmark');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Run Throughput Benchmark' }).first().waitFor();
    await page.keyboard.press('Enter');
    // The command asks which scenario.
    await page.locator('.quick-input-list .monaco-list-row', { hasText: SCENARIO_LABELS.throughput.detail }).first().click();
    const bench = benchmarkView();
    await bench.locator('#app[data-ready="true"][data-scenario="throughput"]').waitFor({ timeout: 240_000 });
    const rows = bench.locator('#results-table tbody tr[data-mode][data-concurrency]');
    await waitUntil('4 result rows', async () => (await rows.count()) === 4, 10_000);
    assert.deepEqual((await rows.evaluateAll((trs) => trs.map((tr) => `${tr.getAttribute('data-concurrency')} ${tr.getAttribute('data-mode')}`))).sort(),
      ['1 batched', '1 sequential', '2 batched', '2 sequential']);
    for (const canvas of ['#chart-throughput', '#chart-latency']) {
      const box = await bench.locator(canvas).boundingBox();
      assert.ok(box && box.width > 50 && box.height > 50, `${canvas} is drawn`);
    }
    assert.match(await bench.locator('#speedup-summary').innerText(), /\d/);
    await saveScreenshot(page, 'benchmark');
  });

  it('the results view runs the editor scenario and shows its modes side by side, the CDF, chat tok/s and the verdict', async () => {
    const bench = benchmarkView();
    await bench.locator('#run-editor').click();
    await bench.locator('#app[data-ready="true"][data-scenario="editor"]').waitFor({ timeout: 240_000 });
    assert.equal(await bench.locator('#throughput-view').isHidden(), true);
    assert.deepEqual(await bench.locator('#editor-table thead th').allInnerTexts(), ['Measure', 'sequential', 'batched', 'batched-priority']);
    assert.equal(await bench.locator('#editor-table tbody tr[data-metric]').count(), 10);
    assert.match(await bench.locator('#editor-verdict').innerText(), /\d/);
    const cdf = await bench.locator('#chart-completion-ttft').boundingBox();
    assert.ok(cdf && cdf.width > 50 && cdf.height > 50, 'the CDF is drawn');
    // What ships serves completions: its line is there (sequential may have served none).
    assert.equal(await bench.locator('#chart-completion-ttft polyline[data-mode="batched-priority"]').count(), 1);
    assert.equal(await bench.locator('#chart-chat-throughput rect.bar').count(), 3);
    await saveScreenshot(page, 'benchmark-editor');
  });

  it('killing the server process: the extension restarts it and completions work again', async () => {
    const s = await server();
    process.kill(s.pid, 'SIGKILL');
    const restarted = await waitUntil('a restarted server', () => {
      const now = serverInfo(editor!);
      return now && now.pid !== s.pid ? now : undefined;
    }, 180_000);
    assert.equal(await metric(restarted, 'mlx_batch_state', 'ready'), 1);
    await waitLabel(/^MLX Batch: ready/, 60_000);
    await openFile('strings.ts');
    await page.keyboard.press('Control+End');
    await typeUntilGhost('\nexport function shout(s: string): string {\n  return ', ['s', '.', 'to']);
    await saveScreenshot(page, 'restarted');
  });
});
