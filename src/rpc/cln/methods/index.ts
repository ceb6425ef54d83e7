import type { MethodDef } from '../method.js';
import { devBlindedpath } from './blinded.js';
import { CHAIN_METHODS } from './chain.js';
import { CHANNEL_METHODS } from './channels.js';
import { check } from './check.js';
import { CONFIG_METHODS } from './configs.js';
import { connect } from './connect.js';
import { disconnect } from './disconnect.js';
import { getinfo } from './getinfo.js';
import { getlog } from './getlog.js';
import { getroute } from './getroute.js';
import { GRAPH_METHODS } from './graph.js';
import { help } from './help.js';
import { INVOICE_METHODS } from './invoices.js';
import { listpeers } from './listpeers.js';
import { notifications } from './notifications.js';
import { PAY_METHODS } from './pay.js';
import { FORWARD_METHODS } from './forwards.js';
import { ping } from './ping.js';
import { setchannel } from './setchannel.js';
import { stop } from './stop.js';
import { towerGetinfo } from './tower-getinfo.js';
import { WALLET_METHODS } from './wallet.js';
import { WTCLIENT_METHODS } from './wtclient.js';

/** Every JSON-RPC method; each has `schemas/<name>.json`. */
export const METHODS: readonly MethodDef[] = [check, connect, disconnect, getinfo, help, listpeers, notifications, ping, stop, towerGetinfo, ...WTCLIENT_METHODS, ...WALLET_METHODS, ...CHANNEL_METHODS, getlog, ...CHAIN_METHODS, ...CONFIG_METHODS, ...INVOICE_METHODS, ...PAY_METHODS, ...GRAPH_METHODS, ...FORWARD_METHODS, setchannel, getroute, devBlindedpath];
