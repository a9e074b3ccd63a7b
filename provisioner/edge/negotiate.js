// imgdeploy's format negotiation at the edge: a CloudFront Function (runtime cloudfront-js-2.0) on the
// path of every variant with format = "auto", associated with both viewer events of that path.
//
// The URL contract. The pipeline writes each "auto" variant of <prefix><dir>/<stem>.<ext> three times:
//   <variant>/<dir>/<stem>.avif   AVIF
//   <variant>/<dir>/<stem>.webp   WebP
//   <variant>/<dir>/<stem>        the fallback, JPEG (or PNG when the picture keeps alpha), with its type
// Apps ask for the extensionless URL, /<variant>/<dir>/<stem>. On the viewer request this function rewrites
// it to the .avif or .webp object when the viewer's Accept header names that type explicitly (a wildcard
// such as image/* or */* does not count: curl and old browsers send those), and leaves it alone otherwise.
// The rewritten URI is the cache key, so Accept never enters the cache; on the viewer response of a
// negotiated URL it adds "Vary: Accept" for caches between CloudFront and the viewer. The viewer
// response may show the request's URI before or after the rewrite, so it adds the header to the
// extensionless URI and to the .avif and .webp objects alike (a direct .avif or .webp URL gets it too,
// which costs a downstream cache nothing). A URL with an extension is served as it is, so an app can
// still ask for one format.
//
// Bounded work: only the first MAX_ACCEPT characters of Accept and its first MAX_TYPES entries are read.
var MAX_ACCEPT = 1024;
var MAX_TYPES = 32;

// The formats this function may pick, best first.
var PREFERRED = [
  { type: 'image/avif', ext: '.avif' },
  { type: 'image/webp', ext: '.webp' },
];

// The media types of an Accept value that the viewer accepts (q above 0), lower-cased.
function acceptedTypes(accept) {
  var found = {};
  var entries = accept.slice(0, MAX_ACCEPT).split(',', MAX_TYPES);
  for (var i = 0; i < entries.length; i++) {
    var params = entries[i].split(';');
    var type = params[0].trim().toLowerCase();
    var q = 1;
    for (var j = 1; j < params.length && j < 8; j++) {
      var p = params[j].trim().toLowerCase();
      if (p.indexOf('q=') === 0) {
        q = parseFloat(p.slice(2));
      }
    }
    if (type && q > 0) {
      found[type] = true;
    }
  }
  return found;
}

// The last path segment has no extension: a negotiable URL.
function negotiable(uri) {
  var last = uri.slice(uri.lastIndexOf('/') + 1);
  return last.length > 0 && last.indexOf('.') < 0;
}

// The answer to this URI may be a negotiated one: Vary: Accept.
function varies(uri) {
  return negotiable(uri) || /\.(avif|webp)$/.test(uri);
}

function header(headers, name) {
  var h = headers && headers[name];
  return h && typeof h.value === 'string' ? h.value : '';
}

function handler(event) {
  var request = event.request;
  if (event.context.eventType === 'viewer-response') {
    var response = event.response;
    if (varies(request.uri)) {
      response.headers.vary = { value: 'Accept' };
    }
    return response;
  }
  if (!negotiable(request.uri)) {
    return request;
  }
  var accepted = acceptedTypes(header(request.headers, 'accept'));
  for (var i = 0; i < PREFERRED.length; i++) {
    if (accepted[PREFERRED[i].type]) {
      request.uri = request.uri + PREFERRED[i].ext;
      break;
    }
  }
  return request;
}
