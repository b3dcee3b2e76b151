// GitHub Actions' `paths` filter, for the pipeline tests: which workflows a set of changed
// files runs. Patterns as GitHub reads them: `*` matches within one path segment, `**` across
// segments, `?` one character, a leading `!` excludes; the last pattern that matches a file
// decides, and a workflow runs when any changed file is included.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** A filter pattern as a regular expression over a repository-relative path. */
export function patternRegExp(pattern) {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` matches zero or more whole segments; a trailing `**` anything at all.
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') {
      re += '[^/]*';
    } else if (c === '?') {
      re += '[^/]';
    } else {
      re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${re}$`);
}

/** Whether `file` passes the filter `patterns` (the last matching pattern decides). */
export function included(patterns, file) {
  let verdict = false;
  for (const p of patterns) {
    const negative = p.startsWith('!');
    if (patternRegExp(negative ? p.slice(1) : p).test(file)) verdict = !negative;
  }
  return verdict;
}

/** The workflows under `dir`: file name → the parsed document. */
export function readWorkflows(dir) {
  const workflows = new Map();
  for (const name of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    workflows.set(name, parse(readFileSync(path.join(dir, name), 'utf8')));
  }
  return workflows;
}

/** The `paths` of a workflow's `push` and `pull_request` triggers (undefined when absent). */
export function triggerPaths(workflow) {
  const on = workflow.on ?? {};
  return { push: on.push?.paths, pullRequest: on.pull_request?.paths };
}

/** The workflows (file names) a push changing `files` runs; workflow_call-only ones never. */
export function triggered(workflows, files) {
  const runs = [];
  for (const [name, workflow] of workflows) {
    const { push } = triggerPaths(workflow);
    if (push && files.some((f) => included(push, f))) runs.push(name);
  }
  return runs;
}
