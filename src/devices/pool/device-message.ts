/**
 * Error text that leaves the gateway (HTTP bodies, dead letters) names the device,
 * never where its files are: the cause's message (lmdb-js, fs) often carries the
 * absolute instance path. The path stays in the error's cause for the logs.
 */

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `message` with the instance directory of device `id` (and any file below it)
 * replaced by `device <id>`, and the devices directory itself by `the devices directory`.
 */
export function deviceMessage(message: string, devicesDir: string, instanceDir: string, id: string): string {
  return message
    .replace(new RegExp(`${escapeRegExp(instanceDir)}(?:/[^\\s'",:)]*)?`, 'g'), `device ${id}`)
    .replace(new RegExp(escapeRegExp(devicesDir), 'g'), 'the devices directory');
}
