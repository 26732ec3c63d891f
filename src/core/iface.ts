import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { ErrorCode, typeError } from './errors.js';

/**
 * The address to bind for an `iface` value: an IP address as given, or
 * the address of the network interface of that name (IPv4 first, as lws
 * picks). Throws naming the interfaces that exist when there is no match.
 */
export function resolveIface(iface: string, vhostName: string): string {
  if (isIP(iface) || iface === 'localhost') return iface;
  const all = networkInterfaces();
  const addrs = all[iface];
  if (!addrs || !addrs.length)
    throw typeError(ErrorCode.INVALID_OPTION, `vhost ${vhostName}: iface ${JSON.stringify(iface)} is neither an IP address nor a network interface (interfaces: ${Object.keys(all).join(', ')})`);
  const v4 = addrs.find((a) => a.family === 'IPv4');
  return (v4 ?? addrs[0]).address;
}
