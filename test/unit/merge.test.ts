import { describe, expect, it } from 'vitest';
import { isBareAddress } from '../../src/core/address.js';
import { MergeText, personalise } from '../../src/core/merge.js';
import { finalizeMessage } from '../../src/core/message.js';

const template = finalizeMessage({
  from: 'news@example.com',
  to: ['placeholder@example.com'],
  cc: [],
  bcc: [],
  subject: 'Hi {{ name }} ({{plan}})',
  html: '<p>{{name}} &lt;{{email}}&gt;</p>',
  text: 'Hello {{name}}\n{{missing}}.',
  headers: [],
  tags: [],
  metadata: {},
  attachments: [],
  type: 'marketing',
});

describe('personalise', () => {
  it('fills each part the way it needs: one line in the subject, escaped in HTML, as is in text', () => {
    const copy = personalise(template, { email: 'eve@example.com', fields: { name: 'Eve <b>\r\nHacker', plan: 'pro' }, digest: 'a1b2c3' });
    expect(copy).toMatchObject({
      to: ['eve@example.com'],
      subject: 'Hi Eve <b> Hacker (pro)',
      html: '<p>Eve &lt;b&gt;\r\nHacker &lt;eve@example.com&gt;</p>',
      text: 'Hello Eve <b>\r\nHacker\n.',
      idempotencyKey: `${template.idempotencyKey}/a1b2c3`,
    });
    expect(template.to).toEqual(['placeholder@example.com']);
  });

  it('gives each recipient their own values from the same template', () => {
    const names = ['A', 'B', 'C'].map((name, i) => personalise(template, { email: `${name}@example.com`, fields: { name }, digest: String(i) }).subject);
    expect(names).toEqual(['Hi A ()', 'Hi B ()', 'Hi C ()']);
  });
});

describe('merge fields named like object properties', () => {
  it('fill in empty, not what every JS object has', () => {
    const text = new MergeText('[{{toString}}|{{constructor}}|{{__proto__}}|{{email}}]');
    expect(text.fill({ email: 'a@example.com', fields: {} })).toBe('[|||a@example.com]');
    expect(text.fill({ email: 'a@example.com', fields: { toString: 'own' } })).toBe('[own|||a@example.com]');
  });
});

describe('MergeText', () => {
  it('leaves a text without fields alone and fills a field at either end', () => {
    expect(new MergeText('plain').fill({ email: 'a@example.com', fields: {} })).toBe('plain');
    expect(new MergeText('{{a}}-{{b}}', (v) => v.toUpperCase()).fill({ email: 'a@example.com', fields: { a: 'x', b: 'y' } })).toBe('X-Y');
  });
});

describe('isBareAddress (fast path and full check agree)', () => {
  const local64 = 'a'.repeat(64);
  it.each([
    ['user@example.com', true],
    ['first.last+tag@sub.example.co.uk', true],
    ["o'brien@example.com", true],
    [`${local64}@example.com`, true],
    [`${local64}a@example.com`, false],
    ['user@example.c', true],
    ['user@example.123', false],
    ['user@-example.com', false],
    ['user@example-.com', false],
    ['user@localhost', false],
    ['.user@example.com', false],
    ['us..er@example.com', false],
    [`user@${'a'.repeat(64)}.com`, false],
    [`user@${'a'.repeat(63)}.com`, true],
  ])('%s → %s', (address, valid) => {
    expect(isBareAddress(address)).toBe(valid);
  });
});
