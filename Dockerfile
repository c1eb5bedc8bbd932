# syntax=docker/dockerfile:1
# keepwatch in a container: one per node, next to keepalived and nginx on the host.
#   docker build -t keepwatch --build-arg REVISION=$(git rev-parse HEAD) --build-arg BRANCH=$(git rev-parse --abbrev-ref HEAD) \
#     --build-arg SOURCE_DATE_EPOCH=$(git log -1 --format=%ct) .
#   (`keepwatch --version` in the image prints them; without SOURCE_DATE_EPOCH the build date is the build's time)
#   docker run -d --name keepwatch --network host --cap-add NET_RAW \
#     --group-add "$(getent group keepwatch | cut -d: -f3)" \
#     -v /etc/keepwatch:/etc/keepwatch:ro \
#     -v /run/dbus/system_bus_socket:/run/dbus/system_bus_socket \
#     -v /run/keepwatch:/run/keepwatch \
#     -v /var/spool/keepwatch:/var/spool/keepwatch \
#     -v /run/keepalived-dumps:/run/keepalived-dumps:ro \
#     -v keepwatch-state:/var/lib/keepwatch \
#     -v /etc/keepalived:/etc/keepalived:ro -v /run/keepalived.pid:/run/keepalived.pid:ro \
#     --pid host keepwatch
# Host networking: the VIP probe must see the host's addresses and arping must use its interfaces.
# The D-Bus policy (deploy/dbus) must name the container's user (uid 10001), or run with --user root.
# keepalived's dumps (the counters) are root:keepwatch 0640 in the host's /run/keepalived-dumps
# (README, Docker): --group-add gives the container's user the host's keepwatch group to read them.

# ---- build: all dependencies, compile TypeScript
FROM node:26-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would compile before the sources are here; no dependency needs its
# install script (usocket, optional for dbus-next, is not used for the system bus).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY agent ./agent
COPY exporters ./exporters
COPY rules ./rules
COPY scripts/build-info.js ./scripts/build-info.js
# No .git in the build context: `keepwatch --version` gets the revision, branch and build date from these.
ARG REVISION=
ARG BRANCH=
ARG SOURCE_DATE_EPOCH=
RUN KEEPWATCH_REVISION="$REVISION" KEEPWATCH_BRANCH="$BRANCH" SOURCE_DATE_EPOCH="$SOURCE_DATE_EPOCH" node scripts/build-info.js && npx tsc -p tsconfig.json

# ---- runtime: production dependencies and the compiled agent only
FROM node:26-slim AS runtime
ENV NODE_ENV=production
# iproute2: the VIP probe; arping with the file capability CAP_NET_RAW, so the non-root user can
# probe for duplicate VIPs when the container has NET_RAW (--cap-add NET_RAW; Docker grants it by default).
RUN apt-get update \
 && apt-get install -y --no-install-recommends iproute2 iputils-arping libcap2-bin \
 && setcap cap_net_raw+ep /usr/bin/arping \
 && apt-get purge -y libcap2-bin && apt-get autoremove -y \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 10001 keepwatch \
 && useradd --system --uid 10001 --gid keepwatch --home-dir /var/lib/keepwatch --shell /usr/sbin/nologin keepwatch \
 && mkdir -p /etc/keepwatch /var/lib/keepwatch /var/spool/keepwatch /run/keepwatch \
 && chown keepwatch:keepwatch /var/lib/keepwatch /var/spool/keepwatch /run/keepwatch
WORKDIR /opt/keepwatch
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /src/dist ./dist
COPY --from=build /src/agent/buildInfo.json ./agent/buildInfo.json
COPY bin ./bin
COPY agent/http/page ./agent/http/page
COPY agent/hook/keepwatch-notify ./agent/hook/keepwatch-notify
COPY deploy/keepwatch.example.yml ./deploy/keepwatch.example.yml
RUN ln -s /opt/keepwatch/bin/keepwatch /usr/local/bin/keepwatch
USER 10001:10001
VOLUME ["/var/lib/keepwatch"]
EXPOSE 9723
# No curl in slim images: Node's own fetch. Plain HTTP on 127.0.0.1:9723 (adjust if web.* changes it).
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9723/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["keepwatch", "run"]
CMD ["--config.file", "/etc/keepwatch/keepwatch.yml"]
