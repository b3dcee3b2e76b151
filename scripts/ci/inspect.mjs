// Reads the JSON a pipeline stage got (on stdin) and answers one question about it, so the
// stage scripts stay shell. Exit 0 = yes, 1 = no.
//   deployment-version        `wrangler deployments status --json`: the first version's id
//                             (`none` for no deployment or unreadable input)
//   deployment-is VERSION     …: VERSION alone serves 100 %
//   gateway-health            `GET /__gateway/health`: a report naming the route table version
//   serving VERSION           `GET /__gateway/routes`: the answering isolate serves VERSION
//   backend-health NAME [VERSION]
//                             `GET /healthz` of a backend (a contracts::HealthReport): healthy
//                             (or ok, pass, up), from service NAME, at API VERSION when given

import { readFileSync } from 'node:fs';

const [verb, arg, arg2] = process.argv.slice(2);
const text = readFileSync(0, 'utf8');
const parsed = () => {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
};

switch (verb) {
  case 'deployment-version': {
    const versions = parsed()?.versions ?? [];
    console.log(versions.length ? versions[0].version_id : 'none');
    break;
  }
  case 'deployment-is': {
    const versions = parsed()?.versions ?? [];
    const only = versions.length === 1 && versions[0].version_id === arg && versions[0].percentage === 100;
    process.exit(only ? 0 : 1);
    break;
  }
  case 'gateway-health': {
    const report = parsed();
    const ok = typeof report?.route_version === 'string' && report.route_version !== '';
    console.error(ok ? `route table ${report.route_version}, origins ${report.status}` : `not a health report: ${text.slice(0, 200)}`);
    process.exit(ok ? 0 : 1);
    break;
  }
  case 'serving': {
    const served = parsed()?.serving_version;
    console.error(`the gateway serves ${served ?? text.slice(0, 200)}`);
    process.exit(served === arg ? 0 : 1);
    break;
  }
  case 'backend-health': {
    const report = parsed();
    const healthy = ['healthy', 'ok', 'pass', 'up'].includes(String(report?.status).toLowerCase());
    const service = report?.service === undefined || report.service === arg;
    const version = !arg2 || report?.version === undefined || report.version === arg2;
    const ok = healthy && service && version;
    console.error(`${arg}: ${ok ? `${report.status}${report.version ? ` at ${report.version}` : ''}` : text.slice(0, 200)}`);
    process.exit(ok ? 0 : 1);
    break;
  }
  default:
    console.error('usage: … | node scripts/ci/inspect.mjs deployment-version|deployment-is VERSION|gateway-health|serving VERSION|backend-health NAME [VERSION]');
    process.exit(2);
}
