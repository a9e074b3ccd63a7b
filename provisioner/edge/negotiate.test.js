// Runs negotiate.js as CloudFront would (a plain script whose `handler` gets the event), over the
// Accept values real viewers send: `node --test provisioner/edge/negotiate.test.js` (`make test` runs it).
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const SOURCE = fs.readFileSync(path.join(__dirname, 'negotiate.js'), 'utf8');

// A fresh context per call, with nothing but what the cloudfront-js-2.0 runtime offers a handler.
function handler() {
  const context = vm.createContext({});
  vm.runInContext(SOURCE, context, { filename: 'negotiate.js' });
  return context.handler;
}

function viewerRequest(uri, accept) {
  const headers = { host: { value: 'd111111abcdef8.cloudfront.net' } };
  if (accept !== undefined) headers.accept = { value: accept };
  return {
    version: '1.0',
    context: { eventType: 'viewer-request' },
    viewer: { ip: '192.0.2.1' },
    request: { method: 'GET', uri, querystring: {}, headers, cookies: {} },
  };
}

// What each viewer's <img> request sends, and the file it must get for /web/2024/photo.
const VIEWERS = [
  ['Chrome 120', 'image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8', '.avif'],
  ['Firefox 121', 'image/avif,image/webp,*/*', '.avif'],
  ['Firefox 128', 'image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', '.avif'],
  ['Safari 16 (macOS 13)', 'image/webp,image/avif,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', '.avif'],
  ['Safari 17', 'image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5', '.avif'],
  ['Safari 15 (no AVIF)', 'image/webp,image/png,image/svg+xml,image/*;q=0.8,video/*;q=0.8,*/*;q=0.5', '.webp'],
  ['Edge 18 (WebP only)', 'image/webp,image/apng,image/*,*/*;q=0.8', '.webp'],
  ['curl', '*/*', ''],
  ['a wildcard image/*', 'image/*', ''],
  ['an empty Accept', '', ''],
  ['no Accept header', undefined, ''],
  ['AVIF refused with q=0', 'image/avif;q=0,image/webp', '.webp'],
  ['both refused', 'image/avif;q=0, image/webp;q=0.0, */*', ''],
  ['upper case and spaces', ' IMAGE/AVIF ; q=0.9 , image/webp', '.avif'],
  ['a 10 KB value of junk', 'x'.repeat(10 * 1024), ''],
  ['AVIF beyond the first 1 KB', 'a/b,'.repeat(300) + 'image/avif', ''],
  ['10 KB of types, WebP first', 'image/webp,' + 'text/x-junk;q=0.1,'.repeat(600), '.webp'],
  ['commas only', ','.repeat(10 * 1024), ''],
  ['a q with no number', 'image/avif;q=,image/webp', '.webp'],
];

for (const [viewer, accept, ext] of VIEWERS) {
  test(`${viewer} gets ${ext || 'the fallback'}`, () => {
    const request = handler()(viewerRequest('/web/2024/photo', accept));
    assert.strictEqual(request.uri, '/web/2024/photo' + ext);
    assert.strictEqual(request.method, 'GET');
  });
}

test('a URL with an extension is served as asked, whatever the viewer accepts', () => {
  for (const uri of ['/web/photo.jpg', '/web/photo.webp', '/web/2024/trip.v2/photo.png']) {
    const request = handler()(viewerRequest(uri, 'image/avif,image/webp'));
    assert.strictEqual(request.uri, uri);
  }
});

test('a folder in the URL with a dot does not stop negotiation of its last segment', () => {
  const request = handler()(viewerRequest('/web/trip.2024/photo', 'image/avif'));
  assert.strictEqual(request.uri, '/web/trip.2024/photo.avif');
});

test('the viewer response of a negotiated URL varies on Accept, before or after the rewrite', () => {
  const respond = (uri) => {
    const event = viewerRequest(uri, 'image/avif');
    event.context.eventType = 'viewer-response';
    event.response = { statusCode: 200, statusDescription: 'OK', headers: {}, cookies: {} };
    return handler()(event);
  };
  // (Objects made inside the function's context have its prototypes: compare the value.)
  for (const uri of ['/web/photo', '/web/photo.avif', '/web/photo.webp']) {
    assert.strictEqual(respond(uri).headers.vary.value, 'Accept', uri);
  }
  for (const uri of ['/web/photo.jpg', '/web/photo.png', '/web/photo.avif.jpg']) {
    assert.strictEqual(respond(uri).headers.vary, undefined, uri);
  }
});

test('the source fits CloudFront Functions: under 10 KB, ES5 syntax with a handler', () => {
  assert.ok(Buffer.byteLength(SOURCE) < 10 * 1024, `${Buffer.byteLength(SOURCE)} bytes`);
  assert.strictEqual(typeof handler(), 'function');
  assert.doesNotMatch(SOURCE, /\b(require|import|export|module\.exports)\b/);
});
