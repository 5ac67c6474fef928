// Unit tests for api/path_clean.ts: Go's path.Clean / ServeMux cleanPath, path decoding and escaping.
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { cleanPath, decodePath, escapePath, goPathClean, redirectBody } from "../../api/path_clean.ts";

const s = suite("api/path_clean");

s("goPathClean() matches Go's path.Clean", () => {
  const cases: [string, string][] = [
    ["", "."], ["/", "/"], ["//a//b/", "/a/b"], ["/a/./b", "/a/b"], ["/a/../b", "/b"], ["/../a", "/a"],
    ["a/../..", ".."], ["/a/b/..", "/a"], ["abc/./../def", "def"],
  ];
  for (const [i, o] of cases) assert.is(goPathClean(i), o, i);
});

s("cleanPath() keeps one trailing slash like ServeMux", () => {
  assert.is(cleanPath("/v2/keys/foo/"), "/v2/keys/foo/");
  assert.is(cleanPath("/v2/keys//foo"), "/v2/keys/foo");
  assert.is(cleanPath("/v2/keys/a/../b/"), "/v2/keys/b/");
  assert.is(cleanPath(""), "/");
});

s("decodePath() decodes %XX, keeps '+', and refuses bad escapes", () => {
  assert.is(decodePath("/v2/keys/sp%20ace"), "/v2/keys/sp ace");
  assert.is(decodePath("/v2/keys/a%3Fb+c"), "/v2/keys/a?b+c");
  assert.is(decodePath("/v2/keys/%zz"), undefined);
});

s("escapePath() escapes like url.URL.EscapedPath", () => {
  assert.is(escapePath("/v2/keys/b c?d"), "/v2/keys/b%20c%3Fd");
  assert.is(escapePath("/a$&+,:;=@-_.~/é"), "/a$&+,:;=@-_.~/%C3%A9");
  assert.is(redirectBody("/v2/keys/b%20c?x=1&y"), '<a href="/v2/keys/b%20c?x=1&amp;y">Moved Permanently</a>.\n\n');
});

s.run();
