# cam2mqtt in a container: docs/deploy.md.
#   docker build -t cam2mqtt .
#   docker run -d --name cam2mqtt -p 9090:9090 -p 1883:1883 -v "$PWD/data:/data" cam2mqtt
# /data holds configuration.yaml, the page's session key, presets, and an optional seed .env
# (HTTP_AUTH_USERNAME, HTTP_AUTH_PASSWORD, CAM_URL, SERVO_URL): it is the working directory.

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: the "prepare" build needs the sources (copied next); sharp's prebuilt libvips comes
# in its optional platform packages, not from an install script.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY src ./src
# The bridge (tsc) and the control page (dist/page: type-checked, bundled by esbuild).
RUN npm run build && npm prune --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist/src ./dist/src
# The built control page, found next to package.json.
COPY --from=build /app/dist/page ./dist/page
COPY config ./config
COPY docs ./docs
RUN mkdir -p /data && chown node:node /data
USER node
WORKDIR /data
VOLUME ["/data"]
# HTTP (page, REST, MJPEG, camera WebSockets, MQTT over WebSocket) and the embedded MQTT broker.
EXPOSE 9090 1883
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.CAM2MQTT_HTTP_PORT||9090)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM: cameras, viewers and MQTT clients are told goodbye; cam2mqtt exits within 10 s.
STOPSIGNAL SIGTERM
ENTRYPOINT ["node", "--max-semi-space-size=1", "/app/dist/src/cli.js"]
CMD ["--data-dir", "/data"]
