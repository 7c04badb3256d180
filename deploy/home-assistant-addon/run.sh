#!/usr/bin/with-contenv sh
# The add-on's entrypoint: HA's options (/data/options.json) -> cam2mqtt's settings (/data/configuration.yaml),
# with the Mosquitto add-on's credentials from the Supervisor when it offers them (SUPERVISOR_TOKEN), then
# cam2mqtt on /data. The mapping is TypeScript (src/addon/options.ts, `cam2mqtt addon-config`), tested.
set -e
# node directly (not the cam2mqtt bin): its shebang needs `env -S`, which busybox's env lacks.
cli="$(npm root -g)/cam2mqtt/dist/src/cli.js"
node "$cli" addon-config --options /data/options.json --out /data/configuration.yaml
exec node --max-semi-space-size=1 "$cli" --data-dir /data
