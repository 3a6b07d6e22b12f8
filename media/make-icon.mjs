// Draws media/icon.png (128x128, the Marketplace icon) without image tools:
// shapes are sampled 4x4 per pixel for smooth edges and written as an RGBA PNG.
//   node media/make-icon.mjs
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const SIZE = 128;
const SS = 4;

// Signed-distance style tests in a 0..128 coordinate space.
const inRoundedRect = (x, y, x0, y0, x1, y1, r) => {
  const cx = Math.min(Math.max(x, x0 + r), x1 - r);
  const cy = Math.min(Math.max(y, y0 + r), y1 - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r && x >= x0 && x <= x1 && y >= y0 && y <= y1;
};
const distToSegment = (px, py, ax, ay, bx, by) => {
  const dx = bx - ax, dy = by - ay;
  const t = Math.max(0, Math.min(1, ((px - ax) * dx + (py - ay) * dy) / (dx * dx + dy * dy)));
  return Math.hypot(px - (ax + t * dx), py - (ay + t * dy));
};
const inTriangle = (px, py, [ax, ay], [bx, by], [cx, cy]) => {
  const s = (p1x, p1y, p2x, p2y, p3x, p3y) => (p1x - p3x) * (p2y - p3y) - (p2x - p3x) * (p1y - p3y);
  const d1 = s(px, py, ax, ay, bx, by), d2 = s(px, py, bx, by, cx, cy), d3 = s(px, py, cx, cy, ax, ay);
  return !((d1 < 0 || d2 < 0 || d3 < 0) && (d1 > 0 || d2 > 0 || d3 > 0));
};

// Later layers paint over earlier ones: [test(x, y) → bool, colour(x, y) → [r, g, b]].
const layers = [
  // Background tile: deep blue, lighter towards the top.
  [(x, y) => inRoundedRect(x, y, 4, 4, 124, 124, 22), (x, y) => [12 + y * 0.05, 58 + (128 - y) * 0.35, 110 + (128 - y) * 0.55]],
  // Terminal window.
  [(x, y) => inRoundedRect(x, y, 20, 26, 108, 94, 8), () => [236, 242, 250]],
  [(x, y) => inRoundedRect(x, y, 24, 38, 104, 90, 4), () => [20, 32, 52]],
  [(x, y) => y >= 26 && y < 36 && inRoundedRect(x, y, 20, 26, 108, 94, 8), () => [236, 242, 250]],
  // Prompt: chevron and underscore.
  [(x, y) => distToSegment(x, y, 36, 52, 50, 63) <= 4 || distToSegment(x, y, 50, 63, 36, 74) <= 4, () => [120, 220, 255]],
  [(x, y) => distToSegment(x, y, 58, 76, 78, 76) <= 3.5, () => [120, 220, 255]],
  // Run badge: green circle with a play triangle.
  [(x, y) => (x - 96) ** 2 + (y - 96) ** 2 <= 22 ** 2, () => [255, 255, 255]],
  [(x, y) => (x - 96) ** 2 + (y - 96) ** 2 <= 19 ** 2, () => [34, 160, 84]],
  [(x, y) => inTriangle(x, y, [89, 84], [89, 108], [109, 96]), () => [255, 255, 255]],
];

const pixels = Buffer.alloc(SIZE * SIZE * 4);
for (let py = 0; py < SIZE; py++) {
  for (let px = 0; px < SIZE; px++) {
    let r = 0, g = 0, b = 0, a = 0;
    for (let sy = 0; sy < SS; sy++) {
      for (let sx = 0; sx < SS; sx++) {
        const x = px + (sx + 0.5) / SS, y = py + (sy + 0.5) / SS;
        let colour;
        for (const [test, paint] of layers) if (test(x, y)) colour = paint(x, y);
        if (colour) { r += colour[0]; g += colour[1]; b += colour[2]; a += 1; }
      }
    }
    const o = (py * SIZE + px) * 4;
    if (a) { pixels[o] = Math.round(r / a); pixels[o + 1] = Math.round(g / a); pixels[o + 2] = Math.round(b / a); }
    pixels[o + 3] = Math.round((a / (SS * SS)) * 255);
  }
}

// PNG: signature, IHDR, IDAT (each row prefixed with filter 0), IEND.
const crcTable = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
const crc32 = (buf) => {
  let c = 0xffffffff;
  for (const byte of buf) c = crcTable[(c ^ byte) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
};
const chunk = (type, data) => {
  const len = Buffer.alloc(4); len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4); crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
};
const ihdr = Buffer.alloc(13);
ihdr.writeUInt32BE(SIZE, 0); ihdr.writeUInt32BE(SIZE, 4);
ihdr[8] = 8; ihdr[9] = 6; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
const raw = Buffer.alloc(SIZE * (SIZE * 4 + 1));
for (let y = 0; y < SIZE; y++) pixels.copy(raw, y * (SIZE * 4 + 1) + 1, y * SIZE * 4, (y + 1) * SIZE * 4);
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk('IHDR', ihdr), chunk('IDAT', deflateSync(raw, { level: 9 })), chunk('IEND', Buffer.alloc(0))]);
writeFileSync(new URL('./icon.png', import.meta.url), png);
console.log(`media/icon.png: ${SIZE}x${SIZE}, ${png.length} bytes`);
