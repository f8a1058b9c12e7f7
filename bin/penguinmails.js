#!/usr/bin/env node
'use strict';
// The CLI is one bundled script, compiled through V8's code cache for its command (see cli-bundle.js).
const { compileCli, saveCacheOfRun } = require('./cli-bundle.js');

const loaded = compileCli();
loaded.cli.main(process.argv).then((exitCode) => {
  process.exitCode = exitCode;
  if (exitCode === 0) saveCacheOfRun(loaded);
});
