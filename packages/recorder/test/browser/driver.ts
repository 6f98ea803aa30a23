/**
 * The one place that knows which browser drives a test: Debian's Chromium
 * through playwright-core (CDP), or Debian's firefox-esr through
 * puppeteer-core over WebDriver BiDi (there is no geckodriver, and
 * Playwright's own Firefox cannot be downloaded here). The tests that run on
 * both engines speak only to `TestBrowser` and `TestPage`; SORTIE_TEST_BROWSER
 * (`chromium`, the default, or `firefox`) picks the engine, as the vitest
 * project `browser-firefox` sets it.
 */
import { chromium, type Browser as PwBrowser, type BrowserServer, type Page as PwPage } from 'playwright-core';
import puppeteer, {
  type Browser as PpBrowser,
  type HTTPRequest as PpRequest,
  type Page as PpPage,
} from 'puppeteer-core';
import { CHROMIUM_ARGS, pageScript } from './harness.js';

export type Engine = 'chromium' | 'firefox';

export function engineUnderTest(): Engine {
  const e = process.env.SORTIE_TEST_BROWSER ?? 'chromium';
  if (e !== 'chromium' && e !== 'firefox') throw new Error(`SORTIE_TEST_BROWSER: unknown browser ${e}`);
  return e;
}

export const ENGINE: Engine = engineUnderTest();

export const FIREFOX_PATH = '/usr/bin/firefox-esr';

/** What a route handler sees of a request. */
export interface RoutedRequest {
  url: string;
  method: string;
}

/** What a route does with a request: let it through, fail it as a network error, or answer it itself. */
export type RouteAnswer =
  | 'continue'
  | { abort: 'connectionreset' | 'internetdisconnected' }
  | { status: number; contentType: string; body: string; headers?: Record<string, string> };

export interface SeenRequest {
  url: string;
  method: string;
  /** The request's body, when it has one. */
  postData(): Promise<string | undefined>;
}

export interface TestPage {
  readonly engine: Engine;
  goto(url: string): Promise<void>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  exposeFunction(name: string, fn: (...args: never[]) => unknown): Promise<void>;
  /** Handles every request whose URL starts with `prefix`; the latest route added that matches wins. */
  route(prefix: string, handler: (req: RoutedRequest) => RouteAnswer | Promise<RouteAnswer>): Promise<void>;
  unrouteAll(): Promise<void>;
  onRequest(listener: (req: SeenRequest) => void): void;
  onResponse(listener: (res: { url: string; status: number }) => void): void;
  onClose(listener: () => void): void;
  mouseMove(x: number, y: number): Promise<void>;
  /** `runBeforeUnload`: close as a user closes a tab, so pagehide runs. */
  close(opts?: { runBeforeUnload?: boolean }): Promise<void>;
}

export interface TestBrowser {
  readonly engine: Engine;
  /** e.g. "chromium 156.0…", "firefox 153.8.0". */
  version(): Promise<string>;
  newPage(): Promise<TestPage>;
  close(): Promise<void>;
  /** SIGKILLs the browser: no pagehide, no beacon (only for a browser launched `killable`). */
  kill(): void;
}

/**
 * Launches the engine. `killable`: Chromium is started as a server with a process of its own to kill (Firefox
 * always has one).
 */
export async function launchBrowser(opts: { engine?: Engine; killable?: boolean } = {}): Promise<TestBrowser> {
  const engine = opts.engine ?? ENGINE;
  if (engine === 'firefox') return launchFirefox();
  let server: BrowserServer | null = null;
  let browser: PwBrowser;
  if (opts.killable) {
    server = await chromium.launchServer({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
    browser = await chromium.connect(server.wsEndpoint());
  } else {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
  }
  return {
    engine,
    version: async () => `chromium ${browser.version()}`,
    newPage: async () => playwrightPage(await browser.newPage()),
    close: async () => {
      await browser.close();
      await server?.close();
    },
    kill() {
      if (!server) throw new Error('kill(): launch the browser with { killable: true }');
      server.process().kill('SIGKILL');
    },
  };
}

function playwrightPage(page: PwPage): TestPage {
  page.on('pageerror', (err) => console.error('[page error]', err));
  return {
    engine: 'chromium',
    goto: async (url) => void (await page.goto(url)),
    evaluate: (fn, arg) => page.evaluate(fn as (a: unknown) => unknown, arg as unknown) as never,
    exposeFunction: async (name, fn) => void (await page.exposeFunction(name, fn as (...a: unknown[]) => unknown)),
    route: async (prefix, handler) =>
      void (await page.route(`${prefix}**`, async (route) => {
        const answer = await handler({ url: route.request().url(), method: route.request().method() });
        if (answer === 'continue') return route.continue();
        if ('abort' in answer) return route.abort(answer.abort);
        return route.fulfill(answer);
      })),
    unrouteAll: () => page.unrouteAll(),
    onRequest: (listener) =>
      page.on('request', (r) =>
        listener({ url: r.url(), method: r.method(), postData: async () => r.postData() ?? undefined }),
      ),
    onResponse: (listener) => page.on('response', (r) => listener({ url: r.url(), status: r.status() })),
    onClose: (listener) => page.once('close', () => listener()),
    mouseMove: (x, y) => page.mouse.move(x, y),
    close: (opts) => page.close(opts),
  };
}

/**
 * Firefox's defaults that a test run must not meet: the first-run pages and update checks (no network here),
 * and a tab in the background being throttled to one timer a second.
 */
const FIREFOX_PREFS: Record<string, unknown> = {
  'media.autoplay.default': 0,
  'dom.min_background_timeout_value': 4,
  'dom.timeout.enable_budget_timer_throttling': false,
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
};

async function launchFirefox(): Promise<TestBrowser> {
  const browser: PpBrowser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    protocol: 'webDriverBiDi',
    extraPrefsFirefox: FIREFOX_PREFS,
  });
  return {
    engine: 'firefox',
    version: async () => (await browser.version()).replace('/', ' '),
    // A window each: a second tab in the same window would push the first to the background, where Firefox runs its
    // timers once a second (Playwright keeps every Chromium page it drives visible).
    newPage: async () => puppeteerPage(await browser.newPage({ type: 'window' })),
    close: () => browser.close(),
    kill() {
      browser.process()?.kill('SIGKILL');
    },
  };
}

type Route = { prefix: string; handler: (req: RoutedRequest) => RouteAnswer | Promise<RouteAnswer> };

function puppeteerPage(page: PpPage): TestPage {
  // Puppeteer intercepts all or nothing: one listener answers every request, from the routes added (the latest
  // that matches first, as Playwright does), and lets the rest through.
  let routes: Route[] = [];
  let intercepting = false;
  const answer = async (req: PpRequest) => {
    if (!intercepting || req.isInterceptResolutionHandled()) return;
    const url = req.url();
    const route = [...routes].reverse().find((r) => url.startsWith(r.prefix));
    const a: RouteAnswer = route ? await route.handler({ url, method: req.method() }) : 'continue';
    if (a === 'continue') return req.continue();
    if ('abort' in a) return req.abort(a.abort);
    return req.respond({ status: a.status, contentType: a.contentType, body: a.body, headers: a.headers ?? {} });
  };
  page.on('pageerror', (err) => console.error('[page error]', err));
  page.on('request', (req) => {
    answer(req).catch((err: unknown) => console.error('[route]', err));
  });
  return {
    engine: 'firefox',
    goto: async (url) => void (await page.goto(url)),
    evaluate: (fn, arg) => page.evaluate(fn as (a: unknown) => unknown, arg as unknown) as never,
    exposeFunction: (name, fn) => page.exposeFunction(name, fn as (...a: unknown[]) => unknown),
    async route(prefix, handler) {
      routes.push({ prefix, handler });
      if (!intercepting) {
        intercepting = true;
        await page.setRequestInterception(true);
      }
    },
    async unrouteAll() {
      routes = [];
      intercepting = false;
      await page.setRequestInterception(false);
    },
    onRequest: (listener) =>
      page.on('request', (r) =>
        listener({
          url: r.url(),
          method: r.method(),
          postData: async () => (r.hasPostData() ? await r.fetchPostData() : undefined),
        }),
      ),
    onResponse: (listener) => page.on('response', (r) => listener({ url: r.url(), status: r.status() })),
    onClose: (listener) => page.once('close', () => listener()),
    mouseMove: (x, y) => page.mouse.move(x, y),
    close: (opts) => page.close(opts),
  };
}

/** A page at `${baseUrl}/__test__/` (same origin as the API, so no CORS) with the bundled `entry` loaded. */
export async function openTestPage(browser: TestBrowser, baseUrl: string, entry?: string): Promise<TestPage> {
  const page = await browser.newPage();
  const script = await pageScript(entry);
  await page.route(`${baseUrl}/__test__/`, () => ({
    status: 200,
    contentType: 'text/html',
    body: `<!doctype html><html><body><script>${script.replace(/<\/script/gi, '<\\/script')}</script></body></html>`,
  }));
  await page.goto(`${baseUrl}/__test__/`);
  // The route served the page once; from here its requests (uploads, a <video>'s range reads, a beacon at close) go
  // straight to the service. Puppeteer intercepts all of a page's requests or none, and Firefox's media reads and
  // a closing page's beacon can stall or die in that round trip through the driver.
  await page.unrouteAll();
  return page;
}
