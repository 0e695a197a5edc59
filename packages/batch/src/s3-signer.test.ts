// Signature Version 4 against the worked examples in AWS's S3 documentation ("Signature
// Calculations for the Authorization Header: Transferring Payload in a Single Chunk"), with
// their example credentials.
import { describe, expect, it } from '@jest/globals';
import { sha256Hex, signS3 } from './s3-signer.js';

const credentials = {
  accessKeyId: 'AKIAIOSFODNN7EXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
};
const now = new Date('2013-05-24T00:00:00Z');
const host = 'examplebucket.s3.amazonaws.com';
const empty = sha256Hex('');
const signature = (headers: Record<string, string>) =>
  /Signature=([0-9a-f]+)/.exec(headers.authorization ?? '')?.[1];

describe('signS3', () => {
  it('signs GET Object with a Range header as AWS does', () => {
    const headers = signS3({
      method: 'GET',
      host,
      path: '/test.txt',
      query: {},
      headers: { range: 'bytes=0-9' },
      payloadHash: empty,
      region: 'us-east-1',
      credentials,
      now,
    });
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
  });

  it('signs PUT Object with a payload and a key that needs encoding ($)', () => {
    const body = 'Welcome to Amazon S3.';
    const headers = signS3({
      method: 'PUT',
      host,
      path: '/test$file.text',
      query: {},
      headers: { date: 'Fri, 24 May 2013 00:00:00 GMT', 'x-amz-storage-class': 'REDUCED_REDUNDANCY' },
      payloadHash: sha256Hex(body),
      region: 'us-east-1',
      credentials,
      now,
    });
    expect(sha256Hex(body)).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
    expect(signature(headers)).toBe('98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd');
  });

  it('signs a query string sorted and encoded (GET Bucket, max-keys and prefix)', () => {
    const headers = signS3({
      method: 'GET',
      host,
      path: '/',
      query: { prefix: 'J', 'max-keys': '2' },
      headers: {},
      payloadHash: empty,
      region: 'us-east-1',
      credentials,
      now,
    });
    expect(signature(headers)).toBe('34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7');
  });

  it('signs a valueless sub-resource (GET ?lifecycle)', () => {
    const headers = signS3({
      method: 'GET',
      host,
      path: '/',
      query: { lifecycle: '' },
      headers: {},
      payloadHash: empty,
      region: 'us-east-1',
      credentials,
      now,
    });
    expect(signature(headers)).toBe('fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543');
  });

  it('sends a temporary credential’s token, signed', () => {
    const headers = signS3({
      method: 'GET',
      host,
      path: '/x',
      query: {},
      headers: {},
      payloadHash: empty,
      region: 'eu-west-1',
      credentials: { ...credentials, sessionToken: 'token' },
      now,
    });
    expect(headers['x-amz-security-token']).toBe('token');
    expect(headers.authorization).toContain(
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,',
    );
    expect(headers.authorization).toContain('/eu-west-1/s3/aws4_request');
  });
});
