/**
 * Typed access to the Node code generated from idl/push.thrift. The generated files are CommonJS
 * and committed in gen-nodejs/ (with a package.json that marks them so), so neither CI nor a
 * developer needs the Thrift compiler. After changing the IDL, regenerate them with
 * thrift-compiler 0.17 (Debian `thrift-compiler`), from the repository root:
 *
 *   thrift --gen js:node,es6 -out tracing/thrift/gen-nodejs tracing/thrift/idl/push.thrift
 *
 * and update the types below. (The compiler's own `ts` option emits declarations that export
 * nothing, so the types are written here by hand.)
 */
import { createRequire } from 'node:module';
import type { Thrift } from 'thrift';
import type { Answer, ThriftService } from './types.ts';

const require = createRequire(import.meta.url);

export const Platform = { IOS: 1, ANDROID: 2, WEB: 3 } as const;
export type Platform = (typeof Platform)[keyof typeof Platform];

export type Notification = {
  app: string;
  deviceToken: string;
  platform: Platform;
  title?: string | null;
  body: string;
  data?: Record<string, string> | null;
  ttlSeconds?: number | null;
};

export type PushReceipt = { id: string; accepted: number };

type ExceptionClass<Fields> = new (args?: Partial<Fields>) => Thrift.TException & Fields;

export type InvalidRequest = Thrift.TException & { message: string; field?: string | null };
export type DeliveryFailed = Thrift.TException & { message: string; retryable: boolean };
export type DeviceOffline = Thrift.TException & { deviceToken: string };

export type PushApiClient = {
  push(notification: Notification): Promise<PushReceipt>;
  pushMany(notifications: Notification[]): Promise<PushReceipt>;
  ping(): Promise<string>;
};
export type PushApiHandler = {
  push(notification: Notification): Answer<PushReceipt>;
  pushMany(notifications: Notification[]): Answer<PushReceipt>;
  ping(): Answer<string>;
};

export type WorkerClient = {
  deliver(notification: Notification): Promise<boolean>;
  requeue(id: string): Promise<void>;
};
export type WorkerHandler = {
  deliver(notification: Notification): Answer<boolean>;
  requeue(id: string): Answer<void>;
};

export type PushdClient = {
  send(deviceToken: string, payload: string): Promise<boolean>;
  connections(): Promise<number>;
};
export type PushdHandler = {
  send(deviceToken: string, payload: string): Answer<boolean>;
  connections(): Answer<number>;
};

type Types = {
  InvalidRequest: ExceptionClass<{ message: string; field: string | null }>;
  DeliveryFailed: ExceptionClass<{ message: string; retryable: boolean }>;
  DeviceOffline: ExceptionClass<{ deviceToken: string }>;
};

const types = require('./gen-nodejs/push_types.js') as Types;

export const InvalidRequest = types.InvalidRequest;
export const DeliveryFailed = types.DeliveryFailed;
export const DeviceOffline = types.DeviceOffline;

export const PushApi = require('./gen-nodejs/PushApi.js') as ThriftService<PushApiClient, PushApiHandler>;
export const Worker = require('./gen-nodejs/Worker.js') as ThriftService<WorkerClient, WorkerHandler>;
export const Pushd = require('./gen-nodejs/Pushd.js') as ThriftService<PushdClient, PushdHandler>;
