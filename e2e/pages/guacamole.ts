/**
 * A real guacamole-common-js client (npm guacamole-common-js): a
 * Guacamole.Client over a Guacamole.WebSocketTunnel draws into its own
 * Guacamole.Display — a default layer, child layers created at run time,
 * and a separate cursor layer — and the SDK records `display.getElement()`.
 */
import Guacamole from 'guacamole-common-js';
import { exposeViewer, params } from './viewer.ts';

const client = new Guacamole.Client(new Guacamole.WebSocketTunnel(params().get('ws')));
const element = client.getDisplay().getElement();
document.getElementById('screen')!.appendChild(element);

/** Syncs the page has completed: the spec waits until the script's drawing has been flushed. */
let syncs = 0;
client.onsync = () => void syncs++;
(window as unknown as { guacamoleSyncs: () => number }).guacamoleSyncs = () => syncs;

const ready = new Promise<void>((resolve, reject) => {
  client.onstatechange = (state) => {
    if (state === Guacamole.Client.State.CONNECTED) resolve();
  };
  client.onerror = (status) => reject(new Error(`Guacamole: ${status.code} ${status.message ?? ''}`));
});
client.connect('');
exposeViewer(element, ready);
