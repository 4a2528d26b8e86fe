# Container image of modq-worker. Stage 1 builds a Release tree and packages it with
# `cpack -G DEB`; stage 2 installs that .deb on bookworm-slim, so the runtime libraries are the
# ones dpkg-shlibdeps derived (no compilers, no -dev packages) and the files sit where the worker's
# defaults look (/usr/share/modq). Not built in CI (no container engine there); see README.
#   docker build -t modq-worker:0.1.0 .
FROM debian:bookworm AS build
ENV DEBIAN_FRONTEND=noninteractive
# The build dependencies only (scripts/install-deps also pulls test and benchmark tools);
# file is needed by cpack's shlibdeps step.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      build-essential cmake pkg-config file \
      libvips-dev libwebp-dev libjpeg-dev libssl-dev libprotobuf-c-dev protobuf-c-compiler \
      libyaml-dev librdkafka-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev \
      libseccomp-dev \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=Release -DMODQ_TESTS=OFF \
 && cmake --build /build -j"$(nproc)" \
 && cd /build && cpack -G DEB

FROM debian:bookworm-slim
COPY --from=build /build/modq_*.deb /tmp/
# ca-certificates: https media fetches and Kafka TLS without a private CA.
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates /tmp/modq_*.deb \
 && rm -rf /var/lib/apt/lists/* /tmp/modq_*.deb \
 && groupadd --system --gid 10001 modq \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin modq
# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001
# "/" has no policy/ or worker/web, so the worker's defaults resolve to the installed copies.
WORKDIR /
# 8080: the review API (http.listen); 8081: the probes and /metrics, where the chart puts
# http.probe_listen (without a setting it is a free port).
EXPOSE 8080 8081
ENTRYPOINT ["/usr/bin/modq-worker"]
CMD ["--config", "/etc/modq/config.yaml"]
