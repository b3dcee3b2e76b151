// Contender (b): the minimal JavaScript pass-through worker — forward every request to one
// origin with a timeout, no routing, no header policy. The floor any gateway is measured by.
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), 5000);
    try {
      return await fetch(env.ORIGIN + url.pathname + url.search, {
        method: request.method,
        headers: request.headers,
        body: request.body,
        redirect: 'manual',
        signal: controller.signal,
      });
    } catch (e) {
      return new Response(null, { status: controller.signal.aborted ? 504 : 502 });
    } finally {
      clearTimeout(timer);
    }
  },
};
