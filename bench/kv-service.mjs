// A stand-in for Workers KV in raw workerd: answers the KV binding's protocol
// (GET https://fake-host/<encoded key>) from a JSON object of key → value. Read-only.
export default {
  async fetch(request, env) {
    const key = decodeURIComponent(new URL(request.url).pathname.slice(1));
    const value = env.DATA[key];
    if (request.method === 'GET' && typeof value === 'string') return new Response(value);
    return new Response(null, { status: 404 });
  },
};
