// A minimal writer of MaxMind DB files (format 2.0: search tree, data section, metadata) for
// IPv4 networks, so that the dashboard test can configure GeoIP without downloading a database.
// The same encoding as tests/unit/ecs/geoip_maxmind_test.cc; libmaxminddb reads the result.

class Encoder {
  constructor() {
    this.parts = [];
  }
  bytes() {
    return Buffer.concat(this.parts);
  }
  ctrl(type, size) {
    if (size >= 285) throw new Error('mmdb: value too long for this writer');
    const sz = size >= 29 ? 29 : size;
    const out = [];
    if (type <= 7) out.push((type << 5) | sz);
    else out.push(sz, type - 7);
    if (size >= 29) out.push(size - 29);
    this.parts.push(Buffer.from(out));
  }
  str(s) {
    const b = Buffer.from(s, 'utf8');
    this.ctrl(2, b.length);
    this.parts.push(b);
  }
  uint(type, v) {
    const out = [];
    let n = BigInt(v);
    while (n > 0n) {
      out.unshift(Number(n & 0xffn));
      n >>= 8n;
    }
    this.ctrl(type, out.length);
    this.parts.push(Buffer.from(out));
  }
  u16(v) {
    this.uint(5, v);
  }
  u32(v) {
    this.uint(6, v);
  }
  u64(v) {
    this.uint(9, v);
  }
  // Any JSON-like value: objects become maps, arrays arrays, strings strings, integers uint32.
  value(v) {
    if (typeof v === 'string') this.str(v);
    else if (typeof v === 'number') this.u32(v);
    else if (Array.isArray(v)) {
      this.ctrl(11, v.length);
      for (const x of v) this.value(x);
    } else {
      const entries = Object.entries(v);
      this.ctrl(7, entries.length);
      for (const [k, x] of entries) {
        this.str(k);
        this.value(x);
      }
    }
  }
}

function ipv4(s) {
  return s.split('.').reduce((a, o) => (a * 256) + Number(o), 0);
}

// networks: [{network: '127.0.0.0/8', data: {...}}]; type: 'GeoLite2-City' or 'GeoLite2-ASN'.
export function buildMmdb(networks, type) {
  const nodes = [[{kind: 0}, {kind: 0}]];
  const data = [];
  let dataSize = 0;
  for (const n of networks) {
    const [addrText, prefixText] = n.network.split('/');
    const addr = ipv4(addrText);
    const prefix = Number(prefixText);
    const e = new Encoder();
    e.value(n.data);
    const offset = dataSize;
    const bytes = e.bytes();
    data.push(bytes);
    dataSize += bytes.length;
    let node = 0;
    for (let i = 0; i < prefix; ++i) {
      const bit = Math.floor(addr / 2 ** (31 - i)) & 1;
      if (i === prefix - 1) {
        nodes[node][bit] = {kind: 2, v: offset};
      } else {
        if (nodes[node][bit].kind !== 1) {
          nodes[node][bit] = {kind: 1, v: nodes.length};
          nodes.push([{kind: 0}, {kind: 0}]);
        }
        node = nodes[node][bit].v;
      }
    }
  }
  const count = nodes.length;
  const tree = Buffer.alloc(count * 6);
  nodes.forEach((nd, i) => {
    nd.forEach((r, j) => {
      const v = r.kind === 0 ? count : r.kind === 1 ? r.v : count + 16 + r.v;
      tree.writeUIntBE(v, i * 6 + j * 3, 3);
    });
  });
  const meta = new Encoder();
  meta.ctrl(7, 9);
  meta.str('binary_format_major_version');
  meta.u16(2);
  meta.str('binary_format_minor_version');
  meta.u16(0);
  meta.str('build_epoch');
  meta.u64(1795874400);
  meta.str('database_type');
  meta.str(type);
  meta.str('description');
  meta.value({en: 'drosera dashboard test database'});
  meta.str('ip_version');
  meta.u16(4);
  meta.str('languages');
  meta.value(['en']);
  meta.str('node_count');
  meta.u32(count);
  meta.str('record_size');
  meta.u16(24);
  return Buffer.concat([tree, Buffer.alloc(16), ...data,
                        Buffer.from([0xab, 0xcd, 0xef]), Buffer.from('MaxMind.com', 'latin1'),
                        meta.bytes()]);
}
