/**
 * The catalogue the server loads: about 8 MiB of compact JSON, the same bytes
 * on every run (a seeded PRNG, fixed dates, no locale-dependent formatting).
 */
export function catalogue() {
  let seed = 20260103;
  const rnd = () => { // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), seed | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(rnd() * n);
  const pick = (xs) => xs[int(xs.length)];
  const WORDS = ('amber basalt cedar delta ember fjord granite harbor iris juniper kelp lumen meadow nickel onyx prairie quartz ' +
    'raven sierra tundra umber velvet willow xenon yarrow zephyr anchor beacon copper dune falcon grove heron lagoon maple ' +
    'orchid pebble quill ridge saffron thistle valley walnut bramble cobalt drift eagle fern glacier hollow indigo jasper').split(' ');
  const TAGS = 'new sale eco premium bulk gift outdoor kitchen garden office kids sport travel tools audio lighting'.split(' ');
  const CITIES = 'Lisbon Porto Lyon Ghent Graz Turku Bergen Aarhus Leipzig Bologna Krakow Brno Tartu Cork Malmo Utrecht'.split(' ');
  const COUNTRIES = 'PT FR BE AT FI NO DK DE IT PL CZ EE IE SE NL ES'.split(' ');
  const words = (n) => Array.from({ length: n }, () => pick(WORDS)).join(' ');
  const epoch = Date.UTC(2020, 0, 1);
  const out = [];
  const N = 16000;
  for (let id = 0; id < N; id++) {
    const tags = [...new Set(Array.from({ length: 1 + int(5) }, () => pick(TAGS)))];
    const c = int(CITIES.length);
    out.push({
      id,
      sku: `SKU-${(int(2 ** 32) >>> 0).toString(16).toUpperCase().padStart(8, '0')}`,
      name: words(2 + int(3)).replace(/^./, (ch) => ch.toUpperCase()),
      email: `${pick(WORDS)}.${pick(WORDS)}${id}@example.com`,
      tags,
      price: Math.round((1 + rnd() * 999) * 100) / 100,
      stock: int(1000) - 20,
      created: new Date(epoch + int(5 * 365 * 86400) * 1000).toISOString(),
      address: { street: `${1 + int(999)} ${pick(WORDS)} street`, city: CITIES[c], zip: String(10000 + int(89999)), country: COUNTRIES[c] },
      ratings: Array.from({ length: int(8) }, () => 1 + int(5)),
      description: words(20 + int(30)),
    });
  }
  return { text: JSON.stringify({ version: 3, generated: '2026-01-03T00:00:00.000Z', records: out }), records: N };
}
