// A stand-in for wrangler, gatewayctl, docker or curl in the pipeline tests. It appends its
// arguments to $FAKE_LOG (one JSON array a line) and answers from $FAKE_PLAN, a JSON list of
// rules: the first rule whose `when` is a substring of the arguments (joined by spaces)
// answers with `stdout`, `stderr` and `exit` (default 0); a rule with `then: [answer, …]`
// gives its answers in turn, repeating the last. An answer's `files: { FLAG: text }` also
// writes text to the path that follows FLAG in the arguments (curl's -D). No rule: exit 0, no
// output.

import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';

const args = process.argv.slice(2);
const line = args.join(' ');
const log = process.env.FAKE_LOG;
const earlier = readFileSync(log, { encoding: 'utf8', flag: 'a+' })
  .split('\n')
  .filter(Boolean)
  .map((l) => JSON.parse(l));
appendFileSync(log, `${JSON.stringify(args)}\n`);

const plan = JSON.parse(readFileSync(process.env.FAKE_PLAN, 'utf8'));
const index = plan.findIndex((r) => line.includes(r.when));
let answer = index < 0 ? {} : plan[index];
if (answer.then) {
  const seen = earlier.filter((a) => a.join(' ').includes(plan[index].when)).length;
  answer = answer.then[Math.min(seen, answer.then.length - 1)];
}
for (const [flag, text] of Object.entries(answer.files ?? {})) {
  const at = args.indexOf(flag);
  if (at >= 0) writeFileSync(args[at + 1], text);
}
if (answer.stdout) process.stdout.write(answer.stdout);
if (answer.stderr) process.stderr.write(answer.stderr);
process.exitCode = answer.exit ?? 0;
