// Short, readable reports for `cam2mqtt ha link` and `cam2mqtt ha status` (pure functions).
import type { LinkReport } from './link.js';
import type { StatusReport } from './status.js';

/** Joins words into lines of at most `width` characters, each starting with `indent`. */
export function wrapList(items: string[], indent: string, width = 100): string[] {
  const lines: string[] = [];
  let line = '';
  for (const it of items) {
    if (line && indent.length + line.length + 2 + it.length > width) {
      lines.push(indent + line);
      line = '';
    }
    line = line ? `${line}  ${it}` : it;
  }
  if (line) lines.push(indent + line);
  return lines;
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function formatLinkReport(r: LinkReport): string {
  const out: string[] = [];
  out.push(
    `Home Assistant ${r.ha.version || '?'} at ${r.ha.url}${r.bridge ? `; cam2mqtt ${r.bridge.version} at ${r.bridge.public_url}` : ''}`,
  );
  if (r.mqtt) {
    out.push(
      r.mqtt.action === 'created'
        ? `MQTT:    added Home Assistant's MQTT integration -> ${r.mqtt.broker}${r.mqtt.protocol ? `, MQTT ${r.mqtt.protocol}` : ''}${r.mqtt.user ? ` (user ${r.mqtt.user})` : ''}`
        : `MQTT:    Home Assistant's MQTT integration already uses cam2mqtt's broker (${r.mqtt.broker}${r.mqtt.protocol ? `, MQTT ${r.mqtt.protocol}` : ''})`,
    );
  }
  let entities = 0;
  let cameras = 0;
  let live = 0;
  for (const d of r.devices) {
    entities += d.entities.length;
    if (d.camera === undefined) {
      out.push(`bridge:  ${d.name}: ${plural(d.entities.length, 'entity', 'entities')}`);
      continue;
    }
    cameras++;
    const unavailable = d.entities.filter((e) => e.state === 'unavailable').length;
    out.push(
      `camera:  ${d.name} (${d.camera}${d.online === undefined ? '' : d.online ? ', online' : ', offline'}): ${plural(d.entities.length, 'entity', 'entities')}${unavailable && d.online !== false ? `, ${unavailable} unavailable` : ''}`,
    );
    out.push(
      ...wrapList(
        d.entities.map((e) => e.entity_id),
        '           ',
      ),
    );
    if (d.live) {
      const l = d.live;
      if (l.status === 'added' || l.status === 'existing') live++;
      out.push(
        `         live view: ${l.status === 'off' ? 'not requested (--no-live)' : l.status === 'skipped' ? `not added: ${l.reason ?? ''}` : `${l.entity_id ?? '?'} (${l.status === 'added' ? 'added' : 'already there'})`}`,
      );
    }
  }
  for (const w of r.warnings) out.push(`warning: ${w}`);
  if (r.ok) {
    out.push(
      `Linked: ${plural(cameras, 'camera')}, ${plural(entities, 'entity', 'entities')}${r.devices.some((d) => d.live && d.live.status !== 'off') ? `, ${plural(live, 'live view')}` : ''} in Home Assistant (${(r.duration_ms / 1000).toFixed(1)} s).`,
    );
  } else {
    out.push(`FAILED: ${r.error?.message ?? 'unknown error'}`);
    if (r.rolled_back.length) for (const x of r.rolled_back) out.push(`rolled back: ${x}`);
    else out.push('Nothing was changed in Home Assistant.');
  }
  return out.join('\n');
}

export function formatStatusReport(s: StatusReport): string {
  const out: string[] = [];
  out.push(`Home Assistant ${s.ha.version} at ${s.ha.url}`);
  if (s.bridge)
    out.push(`cam2mqtt ${s.bridge.version} at ${s.bridge.public_url}, ${plural(s.bridge.cameras, 'camera')}`);
  else if (s.bridge_error) out.push(`cam2mqtt: ${s.bridge_error}`);
  if (s.mqtt.length === 0) out.push('MQTT integration: not set up (run `cam2mqtt ha link`)');
  for (const m of s.mqtt) {
    const carries =
      m.carries_cam2mqtt === undefined
        ? ''
        : m.carries_cam2mqtt
          ? ", carries cam2mqtt's topics"
          : ", does NOT carry cam2mqtt's topics (another broker)";
    out.push(
      `MQTT integration: ${m.state}, broker ${m.broker ?? m.title}${m.protocol ? `, MQTT ${m.protocol}` : ''}${carries}`,
    );
  }
  out.push(`Devices (${s.devices.length}):`);
  for (const d of s.devices) {
    const un = d.entities.filter((e) => e.state === 'unavailable').length;
    out.push(
      `  ${d.name}${d.camera !== undefined ? ` (${d.camera})` : ''}: ${plural(d.entities.length, 'entity', 'entities')}${un ? `, ${un} unavailable` : ''}`,
    );
  }
  if (s.unavailable.length) {
    out.push(`Unavailable (${s.unavailable.length}):`);
    out.push(...wrapList(s.unavailable, '  '));
  }
  if (s.missing.length) {
    out.push(`Announced by cam2mqtt but not in Home Assistant (${s.missing.length}):`);
    out.push(...wrapList(s.missing, '  '));
  }
  if (s.live.length) {
    out.push(`Live views (${s.live.length}):`);
    for (const l of s.live)
      out.push(`  ${l.entity_id ?? l.title} (${l.camera}, ${l.state}${l.entity_state ? `, ${l.entity_state}` : ''})`);
  } else {
    out.push('Live views: none');
  }
  out.push(
    `Linked: ${s.linked ? 'yes' : `no${s.mqtt.length === 0 ? ' (no MQTT integration)' : s.missing.length ? ' (entities missing)' : s.devices.length === 0 ? ' (no cam2mqtt devices)' : " (MQTT integration not on cam2mqtt's broker)"}`}`,
  );
  return out.join('\n');
}
