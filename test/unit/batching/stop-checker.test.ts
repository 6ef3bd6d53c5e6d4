import assert from 'node:assert/strict';
import { StopChecker } from '../../../src/batching/stop-checker';

/** Feeds pieces one by one; returns everything emitted and whether it stopped. */
function feed(stops: string[], pieces: string[]): { text: string; stopped: boolean; emitted: string[] } {
  const c = new StopChecker(stops);
  const emitted: string[] = [];
  for (const p of pieces) {
    const r = c.push(p);
    emitted.push(r.text);
    if (r.stopped) return { text: emitted.join(''), stopped: true, emitted };
  }
  emitted.push(c.flush());
  return { text: emitted.join(''), stopped: false, emitted };
}

describe('StopChecker', () => {
  it('passes text through when there are no stop strings', () => {
    assert.deepEqual(feed([], ['a', 'b']), { text: 'ab', stopped: false, emitted: ['a', 'b', ''] });
  });

  it('finds a stop string split across pieces and cuts it out', () => {
    const r = feed(['\n\n'], ['def f():', '\n', '\n', 'more']);
    assert.equal(r.stopped, true);
    assert.equal(r.text, 'def f():');
  });

  it('holds back a possible stop-string start and never emits part of it', () => {
    const stop = '</answer>';
    const r = feed([stop], ['x = 1 <', '/ans', 'wer> tail']);
    assert.equal(r.text, 'x = 1 ');
    for (const e of r.emitted) assert.ok(!e.includes('<'), `leaked "${e}"`);
    assert.deepEqual(r.emitted, ['x = 1 ', '', '']);
  });

  it('releases held text when it turns out not to be a stop string', () => {
    const r = feed(['END'], ['abc E', 'N', 'x']);
    assert.equal(r.stopped, false);
    assert.deepEqual(r.emitted, ['abc ', '', 'ENx', '']);
  });

  it('flushes held text at the end of generation', () => {
    const r = feed(['END'], ['abc EN']);
    assert.deepEqual(r.emitted, ['abc ', 'EN']);
  });

  it('stops at the earliest of several stop strings', () => {
    const r = feed(['world', 'lo'], ['hello world']);
    assert.equal(r.text, 'hel');
  });

  it('matches a stop string inside one piece with text after it', () => {
    assert.equal(feed(['STOP'], ['abSTOPcd']).text, 'ab');
  });

  it('ignores empty stop strings', () => {
    assert.equal(new StopChecker(['']).active, false);
  });
});
