#!/usr/bin/env node
'use strict';
// The CLI is one bundled script, compiled through V8's code cache when the build made one (see cli-bundle.js).
const { compileCli } = require('./cli-bundle.js');

compileCli()
  .cli.main(process.argv)
  .then((exitCode) => {
    process.exitCode = exitCode;
  });
