// Types of certkey.js. Shapes follow daemon/openapi/certkey-v1.json (its schema names in
// the comments).

export declare const DEFAULT_PORT: 18456;

export type ErrorKind =
  | "not_running"
  | "permission_blocked"
  | "origin_not_allowed"
  | "native_host_missing"
  | "token"
  | "protocol";

export type PermissionStateOrUnsupported = "granted" | "denied" | "prompt" | "unsupported";

export declare class CertkeyError extends Error {
  readonly kind: ErrorKind;
  /** The daemon's stable error code (ErrorCode), or `kind` for errors found in the page. */
  readonly code: string;
  /** The HTTP status the daemon gave; 0 when it gave none. */
  readonly status: number;
  readonly messageZh: string;
  readonly hint: string;
  readonly hintZh: string;
  readonly detail: string;
  /** The loopback-network permission's state, for permission_blocked and not_running. */
  readonly permission: PermissionStateOrUnsupported | null;
}

/** Certificate */
export interface Certificate {
  id: string;
  label: string;
  subject: string;
  issuer: string;
  serial_number: string;
  not_before: string;
  not_after: string;
}

/** Token */
export interface Token {
  serial: number;
  medium: "smartcard" | "sim" | "usbkey" | "sdkey";
  label: string;
  reader: string;
  pin_state: "ok" | "count_low" | "final_try" | "locked";
  pin_tries_left: number;
  certificates: Certificate[];
}

export type RenewalState =
  | "generating"
  | "awaiting_certificate"
  | "writing_certificate"
  | "making_current"
  | "current"
  | "cancelled";

/** Renewal */
export interface Renewal {
  id: string;
  token: number;
  certificate: string;
  key: string;
  algorithm: "ecc-p256" | "ecc-p384" | "rsa-2048";
  state: RenewalState;
  origin: string;
  /** PKCS#10, PEM */
  csr?: string;
  /** compact JWS signed by the renewed certificate's key (docs/daemon.md) */
  authorization?: string;
  created: string;
  updated: string;
}

export interface Issued {
  certificate: string;
  chain?: string;
}

export interface RemoteUnlockChallenge {
  token: number;
  challenge: string;
}

export interface Finding {
  [member: string]: unknown;
}

export interface EventMessage {
  event: "tokenInserted" | "tokenRemoved" | "tokenChanged" | "tokenReconciled" | "certificateExpiring";
  data: Record<string, unknown>;
}

export interface Subscription {
  close(): void;
}

export declare function loopbackPermission(): Promise<PermissionStateOrUnsupported>;

export declare class CertkeyClient {
  /** How the daemon is reached. */
  readonly path: "extension" | "localhost";
  call(command: string, args?: Record<string, unknown>): Promise<Record<string, unknown>>;
  listTokens(): Promise<Token[]>;
  listRenewals(): Promise<Renewal[]>;
  getRenewal(id: string): Promise<Renewal>;
  beginRenewal(token: number, certificate: string, algorithm?: Renewal["algorithm"]): Promise<Renewal>;
  completeRenewal(id: string, certificate: string, chain?: string): Promise<Renewal>;
  cancelRenewal(id: string): Promise<Renewal>;
  renew(token: number, certificate: string, issue: (renewal: Renewal) => Promise<Issued>): Promise<Renewal>;
  changePin(token: number): Promise<{ token: number }>;
  unblockPin(token: number): Promise<{ token: number }>;
  beginRemoteUnlock(token: number): Promise<RemoteUnlockChallenge>;
  completeRemoteUnlock(token: number, response: string): Promise<{ token: number }>;
  remoteUnlock(token: number, respond: (challenge: RemoteUnlockChallenge) => Promise<string>): Promise<{ token: number }>;
  diagnose(): Promise<Finding[]>;
  queryCertificates(): Promise<Record<string, unknown>[]>;
  watch(onEvent: (message: EventMessage) => void, onClose?: () => void): Subscription;
}

export interface ConnectOptions {
  /** certkeyd's loopback port; 18456 unless the user's configuration says otherwise. */
  port?: number;
  /** Use the extension when it is installed (the default). */
  preferExtension?: boolean;
}

/**
 * Finds the daemon and lists the tokens once. Rejects with a CertkeyError whose kind says
 * what is missing. While the loopback permission is "prompt", call it from a user gesture.
 */
export declare function connect(options?: ConnectOptions): Promise<CertkeyClient>;
