import { describe, expect, it } from 'vitest';
import { ListFieldCheck } from '../../src/cli/list-field-check.js';

const template = { subject: 'Hi {{name}} <{{email}}>', html: '<p>{{Plan}}</p>', text: '{{nmae}}' };

function check() {
  const warnings: string[] = [];
  return { warnings, fieldCheck: new ListFieldCheck(template, 'list.csv', (w) => warnings.push(w)) };
}

describe('ListFieldCheck', () => {
  it('a CSV header: warns at once for each field it lacks ({{email}} always has a value), naming a near miss', () => {
    const { warnings, fieldCheck } = check();
    fieldCheck.onCsvHeader(['name', 'plan']);
    expect(warnings).toEqual([
      '{{Plan}} is not a field of list.csv (it has name, plan): every copy gets it empty — did you mean {{plan}}?',
      '{{nmae}} is not a field of list.csv (it has name, plan): every copy gets it empty — did you mean {{name}}?',
    ]);
    // Said once: rows and the end of the list add nothing.
    fieldCheck.seeRows([{ line: 2, email: 'a@example.com', fields: { name: 'A', plan: 'x' } }]);
    fieldCheck.finish();
    expect(warnings).toHaveLength(2);
  });

  it('JSONL rows: a field any row has is fine; the rest is reported when the list ends', () => {
    const { warnings, fieldCheck } = check();
    fieldCheck.seeRows([{ line: 1, email: 'a@example.com', fields: { name: 'A' } }, { line: 2, error: 'not valid JSON' }]);
    fieldCheck.seeRows([{ line: 3, email: 'b@example.com', fields: { Plan: 'pro' } }]);
    expect(warnings).toEqual([]);
    fieldCheck.finish();
    expect(warnings).toEqual(['{{nmae}} is not a field of list.csv (it has name, Plan): every copy gets it empty — did you mean {{name}}?']);
  });

  it('no template fields, or all present: silent', () => {
    const warnings: string[] = [];
    const plain = new ListFieldCheck({ subject: 'Hi', text: 'x' }, 'l', (w) => warnings.push(w));
    plain.onCsvHeader([]);
    plain.finish();
    expect(warnings).toEqual([]);
  });
});
