import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { readPlainYaml } from '../../src/config/plain-yaml.js';

const EXAMPLE = readFileSync(path.resolve(import.meta.dirname, '../../penguinmails.config.example.yaml'), 'utf8');

/** What the config loader gets from the yaml package: the value, or undefined for a file with errors. */
function yamlPackage(text: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  return document.errors.length ? undefined : document.toJS();
}

/** The quick reader either declines or agrees with the yaml package, exactly (-0, key order included). */
function expectAgreement(text: string): boolean {
  const quick = readPlainYaml(text);
  if (quick === undefined) return false;
  const expected = yamlPackage(text);
  expect(expected, `the yaml package refuses what the quick reader read:\n${text}`).not.toBeUndefined();
  expect(quick, text).toStrictEqual(expected);
  expect(Object.keys(quick), text).toEqual(Object.keys(expected as object));
  return true;
}

/** Written the ways config files are: every one read by the quick reader itself. */
const READ = [
  EXAMPLE,
  'providers:\n  pm: { type: postmark, serverToken: "${POSTMARK_TOKEN}", baseUrl: "http://127.0.0.1:8080" }\nfailover: { order: [pm], retry: { attempts: 1, delay: 10ms }, outbox: out.db }\n',
  'a: 1\nb: -2\nc: +3\nd: 0\ne: -0\nf: 007\ng: 1.5\nh: .5\ni: 1e3\nj: -1.5E-2\nk: 12.\nl: 1_000\nm: 0b1\n',
  'a: true\nb: False\nc: TRUE\nd: yes\ne: no\nf: on\ng: ~\nh: null\ni: NULL\nj: Null\nk:\nl: nULL\n',
  "a: 'it''s'\nb: \"double # not a comment\"\nc: plain # a comment\nd: a#b\ne: 'x: y'\nf: http://example.com:80/a?b=c\ng: \"\"\nh: ''\n",
  'list:\n  - a\n  - 2\n  - { k: v }\n  - [x, y]\n  -\n    nested: 1\n  - key: v\n    other: w\nsame:\n- one\n- two\nafter: 1\n',
  'rules:\n  - { when: { priority: critical }, use: [postmark, mailgun, smtp] }\n  - { when: { type: marketing, monthlyVolume: { below: 1000 } }, use: [smtp, mailgun] }\n',
  '"quoted key": 1\n\'single key\': 2\nkey.with.dots: 3\nkey-with-dash: 4\nkey/slash: 5\n',
  'a:\n  b:\n    c:\n      d: deep\n  e: [ ]\n  f: { }\n',
  'a: b\r\nc: [1, 2]\r\n',
  'a: [ "x, y", \'z\' ]\nb: { "k": v, \'l\': w }\n',
  'unicode: héllo wörld ✓\n',
  'a: text with spaces   \nb: [  spaced  ,  items  ]\n',
  '# a comment first\n\na: 1\n   # an indented comment\nb: 2 # trailing\n',
  // Long runs of spaces inside values: read in one pass (a trimming regex once took ~40 s on these).
  `a: x${' '.repeat(200_000)}y\nb: [x${' '.repeat(200_000)}y]\nc:\n- x${' '.repeat(200_000)}y # c\n`,
];

/** Outside the quick reader's part of YAML: left to the yaml package, whatever it makes of them. */
const DECLINED = [
  '',
  '# only a comment\n',
  '---\na: 1\n',
  '%YAML 1.2\n---\na: 1\n',
  'a: &anchor 1\nb: *anchor\n',
  'a: !!str 1\n',
  'a: |\n  block\n',
  'a: >\n  folded\n',
  'a: plain\n  continued\n',
  'a: "multi\n  line"\n',
  'a: [1,\n  2]\n',
  'a: "esc\\n"\n',
  'a:\tb\n',
  'a: 1\na: 2\n',
  'a: 1\n"a": 2\n',
  'a: { k: 1, k: 2 }\n',
  'a: [1, 2,]\n',
  'a: [1, , 2]\n',
  'a: { k: }\n',
  'a: b: c\n',
  'a: b:\n',
  'a: 0x1F\n',
  'a: 0o17\n',
  'a: .inf\n',
  'a: -.Inf\n',
  'a: .nan\n',
  'true: 1\n',
  'null: 1\n',
  '__proto__: { polluted: 1 }\n',
  "'__proto__': 1\n",
  'a: { "__proto__": { polluted: 1 } }\n',
  "a: [{ '__proto__': 1 }]\n",
  '- a\n- b\n',
  'just a scalar\n',
  '  indented: 1\n',
  'a:\n    b: 1\n  c: 2\n',
  'a: 1\n b: 2\n',
  '? complex\n: key\n',
  'a: - b\n',
  '- - nested\n',
  'a: @b\n',
  'a: `b`\n',
  'key : spaced\n',
  'a:b\n',
  '\ufeffa: 1\n',
  'a: 1\rb: 2\n',
  `${'k'.repeat(1100)}: 1\n`,
  `a: ${'['.repeat(20_000)}${']'.repeat(20_000)}\n`,
];

describe('the quick YAML reader for config files (#21)', () => {
  it('reads what config files are made of, exactly as the yaml package does', () => {
    for (const text of READ) expect(expectAgreement(text), `declined:\n${text}`).toBe(true);
  });

  it('declines anything outside its part of YAML, errors included, for the yaml package to read or word', () => {
    for (const text of DECLINED) expect(readPlainYaml(text), text).toBeUndefined();
  });

  it('declines or agrees with the yaml package on thousands of mutations of real configs', () => {
    // A fixed seed: a failure names its text and repeats.
    let seed = 21;
    const random = (n: number) => {
      seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648;
      return seed % n;
    };
    const pieces = [' ', '  ', ':', ': ', '-', '- ', '#', ' #', '"', "'", '[', ']', '{', '}', ',', '\n', 'a', '0', '1.5', '.', '\\', '&', '*', '!', '|', '>', '?', '\t', '\r', '~', 'null', 'true', '__proto__', 'é'];
    const mutate = (text: string): string => {
      const lines = text.split('\n');
      const at = random(lines.length);
      switch (random(6)) {
        case 0: {
          const i = random(text.length + 1);
          return text.slice(0, i) + text.slice(i + 1);
        }
        case 1: {
          const i = random(text.length + 1);
          return text.slice(0, i) + pieces[random(pieces.length)] + text.slice(i);
        }
        case 2:
          lines.splice(random(lines.length), 0, lines[at]);
          return lines.join('\n');
        case 3:
          lines[at] = ' '.repeat(random(3)) + lines[at];
          return lines.join('\n');
        case 4:
          lines[at] = lines[at].replace(/^ {1,2}/, '');
          return lines.join('\n');
        default:
          lines.splice(at, 1);
          return lines.join('\n');
      }
    };
    const sources = [EXAMPLE, READ[1], READ[5], READ[4], READ[2]];
    let read = 0;
    let tried = 0;
    for (let round = 0; round < 2_500; round++) {
      let text = sources[round % sources.length];
      for (let n = 1 + random(3); n > 0; n--) text = mutate(text);
      tried++;
      if (expectAgreement(text)) read++;
    }
    // Most single mutations keep a config readable: the quick path must be taken, not just declined.
    expect(read / tried).toBeGreaterThan(0.3);
  });
});
