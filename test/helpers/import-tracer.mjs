// Loaded with `node --import`: records every module the program resolves into IMPORT_TRACE_FILE.
import { register } from 'node:module';

register('./import-tracer-hooks.mjs', import.meta.url, { data: { file: process.env.IMPORT_TRACE_FILE } });
