# Issue 7: the HTML report rendered by headless Chromium: every image loads (a small script
# marks each <img> by naturalWidth after the load event; --dump-dom shows the marks), and a
# screenshot of the page is a real PNG. A copy with one missing image proves the check catches
# broken images. `make test` installs chromium (deps-test); the test skips (77) only where that
# was impossible (no root or sudo, no package source), and the run's summary line names it.
source "$ROOT/tests/e2e/lib.sh"
command -v gnuplot > /dev/null || { echo "gnuplot missing (make deps installs gnuplot-nox)"; exit 77; }
[[ -x $PROGS/fragment ]] || { echo "build/progs/fragment missing"; exit 77; }
CHROME=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[[ -n $CHROME ]] || { echo "chromium not installed (make test's apt-get could not install it: no root or sudo, or no package source)"; exit 77; }

"$MALLOG" -q record -o frag -- "$PROGS/fragment" 6 > /dev/null
"$MALLOG" -q report "$(only_log frag)" -a glibc,jemalloc -o rep

mark='<script>
window.addEventListener("load", function () {
  var im = document.images, bad = 0;
  for (var i = 0; i < im.length; i++) {
    var ok = im[i].complete && im[i].naturalWidth > 0;
    im[i].setAttribute("data-loaded", ok ? "yes" : "no");
    if (!ok) bad++;
  }
  document.body.setAttribute("data-images", im.length);
  document.body.setAttribute("data-broken", bad);
});
</script>'
# check.html sits beside index.html so relative references resolve the same way
awk -v m="$mark" '/<\/body>/ { print m } { print }' rep/index.html > rep/check.html
awk -v m="$mark" '/<\/body>/ { print "<img src=\"missing.png\">"; print m } { print }' rep/index.html > rep/broken.html

chrome() {  # chrome ARGS... : one headless run with a fresh profile, bounded in time
    local prof; prof=$(mktemp -d)
    timeout 60 "$CHROME" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
        --disable-background-networking --disable-component-update --disable-sync \
        --user-data-dir="$prof" --virtual-time-budget=5000 "$@" 2> chrome.err
    local rc=$?
    rm -rf "$prof"
    return $rc
}
chrome --dump-dom "file://$PWD/rep/check.html" > dom.html || { tail -5 chrome.err; die "chromium failed"; }
grep -q 'data-broken="0"' dom.html || die "broken images: $(grep -o '<img[^>]*data-loaded="no"[^>]*>' dom.html)"
n=$(grep -o 'data-images="[0-9]*"' dom.html | grep -o '[0-9]*')
expect_eq "images in the page" "$n" 6
expect_eq "images loaded" "$(grep -o 'data-loaded="yes"' dom.html | wc -l)" 6

chrome --dump-dom "file://$PWD/rep/broken.html" > dom2.html || die "chromium failed (control)"
grep -q 'data-broken="1"' dom2.html || die "the check did not notice a missing image"

chrome --window-size=1280,3000 --screenshot="$PWD/shot.png" "file://$PWD/rep/index.html" > /dev/null \
    || die "screenshot failed"
[[ $(head -c 8 shot.png | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || die "screenshot is not a PNG"
(( $(stat -c %s shot.png) > 50000 )) || die "screenshot only $(stat -c %s shot.png) bytes: blank page?"
echo ok
