# latentzoo's server image: the latentzoo binary and ONNX Runtime's CPU library, serving
# on port 8080 with its store in the volume /zoo. docker-compose.yml runs it beside an
# OCI registry.
#
#   docker build -t latentzoo .
#   docker run -p 8080:8080 -v zoo:/zoo latentzoo
#   docker build --target gpu -t latentzoo:gpu .      # with the CUDA provider plugin

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

FROM debian:trixie-slim AS cpu
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ca-certificates curl libstdc++6 \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/onnxruntime/ /opt/onnxruntime/
COPY --from=build /out/latentzoo /usr/local/bin/latentzoo
ENV LATENTZOO_ORT_LIB=/opt/onnxruntime/libonnxruntime.so \
    LATENTZOO_HOME=/zoo
VOLUME /zoo
EXPOSE 8080
ENTRYPOINT ["latentzoo"]
CMD ["serve", "--addr", "0.0.0.0:8080", "--default", "vae/fashion-mnist:v1"]

# The GPU variant (docker build --target gpu): the same server with ONNX Runtime's CUDA
# execution provider plugin beside the core, fetched and checked as "GPU=1 make deps" does.
# It needs the host's NVIDIA driver (the container toolkit) and CUDA 13 and cuDNN 9 in the
# image's library path or mounted from the host; without them --device cuda falls back to
# the CPU with a warning.
FROM build AS cuda-fetch
RUN set -eu; \
    pkg=$(sed -n 's/^cuda_package=//p' scripts/deps.sh); \
    sum=$(sed -n 's/^cuda_sha256=//p' scripts/deps.sh); \
    file=$(sed -n 's/^cuda_file=//p' scripts/deps.sh); \
    rm -rf /fetch && mkdir -p /fetch && cd /fetch; \
    npm pack --silent --ignore-scripts "$pkg" >/dev/null; \
    echo "$sum  $(ls *.tgz)" | sha256sum --check --quiet -; \
    tar --no-same-owner -xzf *.tgz; \
    cp "package/Plugins/Linux/x64/$file" /out/onnxruntime/

FROM cpu AS gpu
COPY --from=cuda-fetch /out/onnxruntime/libonnxruntime_providers_cuda.so /opt/onnxruntime/
CMD ["serve", "--addr", "0.0.0.0:8080", "--default", "vae/fashion-mnist:v1", "--device", "cuda"]

FROM cpu
