import { parseDocument, type YAMLError } from 'yaml';
import { ConfigError } from '../core/errors.js';
import { emptyConfigError } from './load.js';

/** A yaml parse error as one line: its message with the position said once. */
export function describeYamlError(error: YAMLError): string {
  // With prettyErrors the message ends in " at line L, column C:" plus a code frame; keep the first part.
  const message = error.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  const position = error.linePos ? ` (line ${error.linePos[0].line}, column ${error.linePos[0].col})` : '';
  return `broken YAML: ${message}${position}`;
}

/** A config file's YAML as a value: a map of settings, or a ConfigError naming the line. */
export function parseConfigYaml(filePath: string, text: string): unknown {
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    throw new ConfigError(`${filePath}: ${describeYamlError(document.errors[0])}`, 'check indentation and quoting at that line');
  }
  const value = document.toJS() as unknown;
  if (value === null || value === undefined) throw emptyConfigError(filePath);
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`config ${filePath} must be a map of settings (defaults:, providers:, failover:, …), not ${Array.isArray(value) ? 'a list' : 'a single value'}`, 'see penguinmails.config.example.yaml for its shape');
  }
  return value;
}
