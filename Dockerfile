# latentzoo's server image: the latentzoo binary and ONNX Runtime's CPU library, serving
# on port 8080 with its store in the volume /zoo. docker-compose.yml runs it beside an
# OCI registry.
#
#   docker build -t latentzoo .
#   docker run -p 8080:8080 -v zoo:/zoo latentzoo

FROM golang:1.26 AS build
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends npm \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# ONNX Runtime from the npm package that scripts/deps.sh fetches, checked against the same
# sha256: the package and its sum are read from that script, so the two never drift apart.
RUN set -eu; \
    pkg=$(sed -n 's/^ort_package=//p' scripts/deps.sh); \
    sum=$(sed -n 's/^ort_sha256=//p' scripts/deps.sh); \
    mkdir -p /fetch /out/onnxruntime && cd /fetch; \
    npm pack --silent --ignore-scripts "$pkg" >/dev/null; \
    echo "$sum  $(ls *.tgz)" | sha256sum --check --quiet -; \
    tar --no-same-owner -xzf *.tgz; \
    cp package/Plugins/Linux/x64/libonnxruntime.so package/Plugins/Linux/x64/libonnxruntime_providers_shared.so /out/onnxruntime/
# Serving needs no training backend: no build tags. cgo links the ONNX Runtime bindings.
RUN CGO_ENABLED=1 go build -trimpath -ldflags "-X main.version=docker" -o /out/latentzoo ./cmd/latentzoo

FROM debian:trixie-slim
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ca-certificates libstdc++6 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/onnxruntime/ /opt/onnxruntime/
COPY --from=build /out/latentzoo /usr/local/bin/latentzoo
ENV LATENTZOO_ORT_LIB=/opt/onnxruntime/libonnxruntime.so \
    LATENTZOO_HOME=/zoo
VOLUME /zoo
EXPOSE 8080
ENTRYPOINT ["latentzoo"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--default", "vae/fashion-mnist:v1"]
