// Runs many `heroku` commands in one Node process, so the CLI's start-up (about a second of
// loading modules and the oclif manifest) is paid once instead of once per command.
//
//     node batch.mjs COMMANDS RESULTS
// COMMANDS is a JSON list of commands, each a list of arguments
// (`[["ps", "-a", "my-app"], ["releases", "-a", "my-app"]]`). Each command runs to completion
// through oclif's own `run` (init hook, parsing, the command, its error handler), and one JSON
// line {"code", "ms", "stdout", "stderr"} is appended to the file RESULTS per command, in order (a
// file, so that nothing a command writes can mix with the results). Commands run one
// after another: their output is captured by swapping the stream writers. Give the process an
// empty stdin: oclif reads stdin for a missing argument, as the CLI does.
import {appendFileSync} from 'node:fs'
import {fileURLToPath} from 'node:url'

const [commands, results] = process.argv.slice(2)
const streams = {stderr: process.stderr, stdout: process.stdout}
let captured = {stderr: '', stdout: ''}
for (const [name, stream] of Object.entries(streams)) {
  stream.write = (chunk, encoding, callback) => {
    captured[name] += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString()
    const done = typeof encoding === 'function' ? encoding : callback
    if (done) done()
    return true
  }
}

// Loaded once the writers are swapped: oclif's spinner keeps the writers it finds at load time.
const {Config} = await import('@oclif/core')
const {Exit, handle} = await import('@oclif/core/handle')
const {run} = await import('@oclif/core/run')
const root = fileURLToPath(new URL('node_modules/heroku/', import.meta.url))
const config = await Config.load(root)
// The CLI remembers add-on look-ups for the life of the process; a fresh process would not.
const {resolveAddon} = await import(new URL('node_modules/heroku/dist/lib/addons/resolve.js', import.meta.url))

// oclif's error handler ends the process through Exit.exit; here it only records the code.
let exitCode = 0
Exit.exit = (code = 0) => {
  exitCode = code
}

class ProcessExit extends Error {}
process.exit = (code) => {
  exitCode = code ?? process.exitCode ?? 0
  throw new ProcessExit(`process.exit(${exitCode})`)
}

async function runOne(argv) {
  captured = {stderr: '', stdout: ''}
  const started = Date.now()
  resolveAddon.cache.clear()
  exitCode = 0
  process.exitCode = undefined
  try {
    // (No oclif `flush` after it, as `execute` does: captured writes are already complete.)
    await run(argv, config)
    exitCode = process.exitCode ?? 0
  } catch (error) {
    if (!(error instanceof ProcessExit)) await handle(error)
  }

  return {code: exitCode, ms: Date.now() - started, ...captured}
}

for (const argv of JSON.parse(commands)) {
  // eslint-disable-next-line no-await-in-loop
  const result = await runOne(argv)
  appendFileSync(results, JSON.stringify(result) + '\n')
}

process.exitCode = 0
