// TypeScript declarations of the Beckon browser SDK: the `ac(...)` command function and the web
// action event object (spec/web-actions.md sections 4 and 5). Served at /sdk/v1/beckon.d.ts.
// Use: `declare const ac: Beckon.Ac;` (or the name set in window._genesysJourneySdk).

declare namespace Beckon {
  type MediaType = 'webchat' | 'contentoffer';

  type State =
    | 'qualified' | 'offered' | 'accepted' | 'rejected' | 'ignored' | 'timedout' | 'errored'
    | 'started' | 'engaged' | 'abandoned' | 'completed' | 'frequencyCapReached'
    | 'qualifiedOutsideSchedule' | 'offeredOutsideSchedule';

  /** `<mediaType>:<state>` or `<mediaType>:all`. */
  type Topic = `${MediaType}:${State | 'all'}`;

  /** One state change of one action (spec 4.3). Every handler gets its own copy. */
  interface ActionEvent {
    actionId: string;
    actionState: State;
    actionMediaType: MediaType;
    actionMapId: string;
    actionMapVersion: number;
    customerId: string;
    customerIdType: 'cookie';
    sessionId: string;
    /** Only when actionState is 'errored': 4001 the action could not be read, 4002 it could not
     * be drawn, 4003 its image did not load, 4004 the chat conversation could not be created or
     * its connection not kept. */
    errorCode?: number;
    /** Only when actionState is 'errored'. */
    errorMessage?: string;
    /** Unique per event: the key for deduplication downstream. */
    eventId: string;
    /** RFC 3339 UTC with milliseconds. */
    timestamp: string;
  }

  type Handler = (event: ActionEvent) => void | Promise<unknown>;

  interface InitOptions {
    /** Beckon base URL; default: the origin the script came from. */
    server?: string;
    /** Accepted for Genesys compatibility and ignored. */
    region?: string;
    cookieDomain?: string;
    /** Default 365. */
    cookieLifetimeDays?: number;
    /** Default 30. */
    sessionTimeoutMinutes?: number;
    forwardTo?: 'dataLayer' | 'adobeDataLayer' | Array<'dataLayer' | 'adobeDataLayer'>;
  }

  /** A typed value must read as its dataType (an integer within 64 bits, a finite number, true or
   * false, as the value or as its text); it is sent as that text. Any other call logs an error and
   * records nothing. */
  type AttributeValue =
    | number | string | boolean
    | { dataType: 'integer' | 'number'; value: number | string }
    | { dataType: 'boolean'; value: boolean | 'true' | 'false' }
    | { dataType: 'string'; value: string | number | boolean };

  /** At most 100, names of 1 to 255 characters, texts of at most 4096 bytes. */
  type CustomAttributes = Record<string, AttributeValue>;

  interface PageviewOptions {
    /** An http(s) URL, absolute or relative to the page (document.baseURI); default the page's. */
    location?: string;
    title?: string;
    customAttributes?: CustomAttributes;
  }

  interface FormsTrackOptions {
    /** Prefix of the event names `<formName>_submitted` and `<formName>_abandoned`; default 'form'. */
    formName?: string;
    captureFormDataOnSubmit?: boolean;
    captureFormDataOnAbandon?: boolean;
  }

  interface SelectorEvent { selector: string; eventName: string; customAttributes?: CustomAttributes }

  interface SessionData { id: string; shortId: number; customerCookieId: string }

  interface Ac {
    (command: 'init', deploymentId: string, options?: InitOptions): void;
    (command: 'pageview', options?: PageviewOptions): void;
    /** eventName: letters, digits and _ only. */
    (command: 'record', eventName: string, customAttributes?: CustomAttributes): void;
    (command: 'forms:track', selector: string, options?: FormsTrackOptions): void;
    (command: 'load', module: 'autotrackClick', options: { clickEvents: SelectorEvent[] }, loaded?: () => void): void;
    (command: 'load', module: 'autotrackIdle', options: { idleEvents: Array<{ idleAfter: number; eventName: string; customAttributes?: CustomAttributes }> }, loaded?: () => void): void;
    (command: 'load', module: 'autotrackInViewport', options: { inViewportEvents: SelectorEvent[] }, loaded?: () => void): void;
    (command: 'load', module: 'autotrackScrollDepth', options: { scrollDepthEvents: Array<{ percentage: number; eventName: string; customAttributes?: CustomAttributes }> }, loaded?: () => void): void;
    (command: 'load', module: 'autotrackUrlChange', options?: { onUrlChange?: (url: string) => void }, loaded?: () => void): void;
    (command: 'on' | 'once', topic: Topic, handler: Handler, options?: { replay?: boolean }): void;
    (command: 'off', topic: Topic, handler?: Handler): void;
    (command: 'api.session.getData', callback: (err: Error | null, data?: SessionData) => void): void;
    (command: 'api.session.getId', callback: (err: Error | null, data?: { id: string }) => void): void;
    (command: 'destroy'): void;
    /** Removed by Genesys in 2023: warns once and does nothing. */
    (command: 'identify', ...args: unknown[]): void;
    /** The snippet's queue: calls pushed to it before the SDK is ready run in order once it is,
     * later ones at once. And the load time (ms since the epoch). */
    q?: { push(call: IArguments): unknown };
    l?: number;
  }
}

interface Window {
  _genesysJourneySdk?: string;
  ac?: Beckon.Ac;
  /** Installed by Beckon only when the page has no Genesys Widgets (spec 4.4). */
  _genesys?: {
    widgets?: {
      bus: {
        /** Resolves to `{ conversationId }` once a chat has started on the page, `{}` before; any
         * other command is rejected. */
        command(name: 'WebChatService.getSessionData'): Promise<{ conversationId?: string }>;
      };
    };
  };
}
