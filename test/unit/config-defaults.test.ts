import { describe, expect, it } from 'vitest';
import { defaultConfig } from '../../src/config/defaults.js';
import { validateConfig } from '../../src/config/validate.js';

describe('the built-in defaults (no config file)', () => {
  it('are exactly what validating an empty config gives, without loading the schema', () => {
    expect(defaultConfig('/srv/app')).toStrictEqual(validateConfig({}, { baseDir: '/srv/app' }));
  });
});
