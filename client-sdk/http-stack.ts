// A tus-js-client HttpStack around the platform's own: it adds the bearer token (asking for a new
// one and sending again after a 401 when the body can be sent twice), Upload-Checksum on requests
// that carry upload bytes, counts progress only once a request is connected, and tells an observer
// about every response.
import type { HttpRequest, HttpResponse, HttpStack } from 'tus-js-client';
import type { TokenSource } from './auth.js';

/** "sha256 <base64>" for a request body, or undefined when it cannot be computed here. */
export type BodyChecksum = (body: unknown) => Promise<string | undefined>;

export interface StackOptions {
  auth: TokenSource;
  /** Set to send Upload-Checksum with every PATCH (and POST with data). */
  checksum?: BodyChecksum | undefined;
  /** True for bodies that can be sent a second time (buffers, blobs). */
  resendable: (body: unknown) => boolean;
  onResponse?: ((request: HttpRequest, response: HttpResponse) => void) | undefined;
  /** Told of every request as it is sent, with its pending response. */
  onSend?: ((request: HttpRequest, response: Promise<HttpResponse>) => void) | undefined;
  /** See Platform.whenConnected. */
  whenConnected?: ((request: HttpRequest, connected: () => void) => void) | undefined;
}

export class ClientHttpStack implements HttpStack {
  constructor(
    private readonly inner: HttpStack,
    private readonly options: StackOptions,
  ) {}

  createRequest(method: string, url: string): HttpRequest {
    return new ClientRequest(this.inner, this.options, method, url);
  }

  getName(): string {
    return `ClientHttpStack(${this.inner.getName()})`;
  }
}

class ClientRequest implements HttpRequest {
  private readonly headers: Record<string, string> = {};
  private progress: (bytesSent: number) => void = () => {};
  private current: HttpRequest | undefined;
  private aborted = false;

  constructor(
    private readonly inner: HttpStack,
    private readonly options: StackOptions,
    private readonly method: string,
    private readonly url: string,
  ) {}

  getMethod(): string {
    return this.method;
  }

  getURL(): string {
    return this.url;
  }

  setHeader(header: string, value: string): void {
    this.headers[header] = value;
  }

  getHeader(header: string): string | undefined {
    return this.headers[header];
  }

  setProgressHandler(handler: (bytesSent: number) => void): void {
    this.progress = handler;
  }

  send(body: unknown = null): Promise<HttpResponse> {
    const response = this.sendAuthorised(body);
    this.options.onSend?.(this, response);
    return response;
  }

  private async sendAuthorised(body: unknown): Promise<HttpResponse> {
    const carriesData = body !== null && body !== undefined && (this.method === 'PATCH' || this.method === 'POST');
    if (carriesData && this.options.checksum) {
      const checksum = await this.options.checksum(body);
      if (checksum) this.setHeader('Upload-Checksum', checksum);
    }
    const { auth } = this.options;
    let token = await auth.current();
    let response = await this.attempt(body, token);
    if (response.getStatus() === 401 && auth.refreshable) {
      auth.invalidate(token);
      if (!carriesData || this.options.resendable(body)) {
        const fresh = await auth.current();
        // the same token again would only be refused again
        if (fresh !== token) {
          token = fresh;
          response = await this.attempt(body, token);
          if (response.getStatus() === 401) auth.invalidate(token);
        }
      }
    }
    this.options.onResponse?.(this, response);
    return response;
  }

  private attempt(body: unknown, token: string | undefined): Promise<HttpResponse> {
    if (this.aborted) return Promise.reject(new Error('request aborted'));
    const request = this.inner.createRequest(this.method, this.url);
    for (const [name, value] of Object.entries(this.headers)) request.setHeader(name, value);
    if (token !== undefined) request.setHeader('Authorization', `Bearer ${token}`);
    const { whenConnected } = this.options;
    // bytes written before a connection exists only fill a buffer: no progress to report yet
    let connected = whenConnected === undefined;
    request.setProgressHandler((bytesSent) => {
      if (connected) this.progress(bytesSent);
    });
    this.current = request;
    const response = request.send(body);
    whenConnected?.(request, () => {
      connected = true;
    });
    return response;
  }

  abort(): Promise<void> {
    this.aborted = true;
    return this.current?.abort() ?? Promise.resolve();
  }

  getUnderlyingObject(): unknown {
    return this.current?.getUnderlyingObject();
  }
}
