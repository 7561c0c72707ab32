import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../gateway/config.ts';
import { addressBehind, trustedProxyList } from '../../gateway/identity/client-address.ts';
import { ValidationError } from '../../schema/index.ts';

describe('client address behind trusted proxies', () => {
  const proxies = trustedProxyList(['10.0.0.0/8', '192.0.2.1', 'fd00::/8']);

  it('is the TCP peer when the peer is not a trusted proxy, whatever X-Forwarded-For says', () => {
    expect(addressBehind(proxies, '198.51.100.9', '203.0.113.7')).toBe('198.51.100.9');
    expect(addressBehind(undefined, '10.1.2.3', '203.0.113.7')).toBe('10.1.2.3');
  });
  it('is the right-most address that is not a trusted proxy', () => {
    expect(addressBehind(proxies, '10.1.2.3', '198.51.100.1, 203.0.113.7, 10.9.9.9')).toBe('203.0.113.7');
    expect(addressBehind(proxies, '192.0.2.1', ['203.0.113.7', '10.0.0.5'])).toBe('203.0.113.7');
    expect(addressBehind(proxies, 'fd00::1', '2001:db8::7')).toBe('2001:db8::7');
    expect(addressBehind(proxies, '10.1.2.3', '::ffff:203.0.113.7')).toBe('203.0.113.7');
  });
  it('is the left-most hop when every hop is a trusted proxy, and the peer when a hop is not an address or the header is absent', () => {
    expect(addressBehind(proxies, '10.1.2.3', '10.0.0.7, 10.0.0.8')).toBe('10.0.0.7');
    expect(addressBehind(proxies, '10.1.2.3', '203.0.113.7, unknown')).toBe('10.1.2.3');
    expect(addressBehind(proxies, '10.1.2.3', undefined)).toBe('10.1.2.3');
  });
  it('refuses a setting that is not an address or a CIDR range, naming the entry', () => {
    for (const entry of ['10.0.0.0/33', 'proxy.local', '10.0.0.0/', '10.0.0.0/8/1']) {
      expect(() => trustedProxyList(['127.0.0.1', entry])).toThrow(ValidationError);
    }
    expect(() => parseConfig({ mongodb: { uri: 'mongodb://127.0.0.1:27017' }, catalogue: 'c', server: { trustedProxies: ['10.0.0.0/33'] } }, 'hub.yaml', '/', {}))
      .toThrow('hub.yaml: /server/trustedProxies/0 "10.0.0.0/33" is not an IP address or CIDR range (e.g. 10.0.0.0/8) (rule: address)');
  });
});
