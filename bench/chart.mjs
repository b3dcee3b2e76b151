// An SVG bar chart of a benchmark report: req/s per contender (with p99), and the route
// table scale. Plain SVG, no dependencies.
const COLORS = {
  a_origin: '#8a8a8a', b_js_passthrough: '#e8a33d', c_hono_gateway: '#d9534f', d_this_gateway: '#2f7ed8',
  e_hono_gateway_policies: '#a94442', f_this_gateway_policies: '#1d5aa0',
  g_this_gateway_jwt: '#17406e', g2_this_gateway_jwt_es256: '#4f9be8',
};

export function chart(report) {
  const bars = Object.entries(report.throughput).map(([k, v]) => ({ label: k, value: v.rps, note: `p99 ${v.p99.toFixed(2)} ms`, color: COLORS[k] }));
  const scale = Object.entries(report.scale).map(([k, v]) => ({ label: `${k} routes`, value: v.rps, note: `${v.vs_10.toFixed(2)}×`, color: '#2f7ed8' }));
  const width = 860;
  const panel = (title, items, top) => {
    const max = Math.max(...items.map((i) => i.value), 1);
    const rows = items.map((item, n) => {
      const y = top + 30 + n * 34;
      const w = Math.round((item.value / max) * 420);
      return `<text x="10" y="${y + 17}" font-size="13">${item.label}</text>
  <rect x="190" y="${y}" width="${w}" height="24" fill="${item.color}"/>
  <text x="${196 + w}" y="${y + 17}" font-size="12">${Math.round(item.value)} req/s · ${item.note}</text>`;
    });
    return `<text x="10" y="${top + 16}" font-size="15" font-weight="bold">${title}</text>\n  ${rows.join('\n  ')}`;
  };
  const top2 = 50 + bars.length * 34 + 20;
  const height = top2 + 40 + scale.length * 34 + 20;
  const load = report.load;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
  <rect width="100%" height="100%" fill="white"/>
  ${panel(`Throughput in raw workerd (wrk -t${load.threads} -c${load.connections} -d${load.duration}, median of ${load.rounds})`, bars, 10)}
  ${panel('This gateway by route table size', scale, top2)}
</svg>
`;
}
