'use strict';
// The addon built at install (node-gyp); require() throws if the build failed, and the caller goes on
// without the trim.
module.exports = require('./build/Release/trim.node');
