# bench/corpus.sh: sourced by bench/media and bench/prepare. bench_corpus CACHE fetches the photo
# corpus once (Debian's mate-backgrounds: apt-get download + dpkg-deb -x, into CACHE) and prints
# its JPEG and PNG files, one per line, sorted.
bench_corpus() {
  local cache=$1 corpus=$1/mate-backgrounds debs deb
  if [ ! -d "$corpus/usr/share/backgrounds" ]; then
    ( cd "$cache"
      # apt drops privileges to _apt for downloads; the cache dir may not be readable by it.
      apt-get download mate-backgrounds >/dev/null 2>&1 \
        || { apt-get update -qq && apt-get download mate-backgrounds >/dev/null 2>&1; } )
    debs=("$cache"/mate-backgrounds_*.deb)
    deb=${debs[-1]}
    rm -rf "$corpus.tmp" && dpkg-deb -x "$deb" "$corpus.tmp" && mv "$corpus.tmp" "$corpus"
  fi
  find "$corpus/usr/share/backgrounds" -type f \
    \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | LC_ALL=C sort
}
