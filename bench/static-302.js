// Ceiling (c): a static JavaScript worker answering a fixed 302, no I/O at all.
export default {
  fetch() {
    return new Response(null, { status: 302, headers: { location: "https://example.com/", "cache-control": "private, no-store" } });
  },
};
