/*
 * The push platform's services, as in the platform's push example: a public API that accepts
 * notifications, workers that route them, and the push daemons that hold the device connections.
 * Tests and demos of Thrift trace propagation use it; nothing here knows about tracing.
 *
 * Field ids 32760-32767 of argument structs are reserved for trace propagation
 * (see ../README.md): never use them here.
 *
 * Generated Node code lives in ../gen-nodejs/; regenerate it with (thrift-compiler 0.17):
 *   thrift --gen js:node,es6 -out tracing/thrift/gen-nodejs tracing/thrift/idl/push.thrift
 */

namespace java com.example.push
namespace py push

enum Platform {
  IOS = 1,
  ANDROID = 2,
  WEB = 3,
}

struct Notification {
  1: required string app,
  2: required string deviceToken,
  3: required Platform platform,
  4: optional string title,
  5: required string body,
  6: optional map<string, string> data,
  7: optional i32 ttlSeconds,
}

struct PushReceipt {
  1: required string id,
  2: required i32 accepted,
}

/** The request is malformed; retrying it as is will fail again. */
exception InvalidRequest {
  1: string message,
  2: optional string field,
}

/** A worker could not hand the notification to any push daemon. */
exception DeliveryFailed {
  1: string message,
  2: bool retryable,
}

/** The device has no open connection on this push daemon. */
exception DeviceOffline {
  1: string deviceToken,
}

/** The public API: apps submit notifications here. */
service PushApi {
  PushReceipt push(1: Notification notification) throws (1: InvalidRequest invalid),
  PushReceipt pushMany(1: list<Notification> notifications) throws (1: InvalidRequest invalid),
  string ping(),
}

/** Routes a notification to the push daemon that holds the device's connection. */
service Worker {
  bool deliver(1: Notification notification) throws (1: DeliveryFailed failed),
  /** Puts a notification back on the queue; the caller does not wait. */
  oneway void requeue(1: string id),
}

/** Holds the long-lived device connections and writes to them. */
service Pushd {
  bool send(1: string deviceToken, 2: string payload) throws (1: DeviceOffline offline),
  i32 connections(),
}
