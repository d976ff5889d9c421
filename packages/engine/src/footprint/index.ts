// Footprints (what a server touched, per tool), refusals told to the model, and pinning.
export { touchOfSyscall, touchOfEgress, showTouch, type Touch } from "./touch.js";
export { generalize, minimalCover, systemClass, within } from "./generalize.js";
export { FootprintRecorder, covers, IDLE, type Footprint } from "./record.js";
export { refusalOfSyscall, refusalOfEgress, refusalText, type Refusal } from "./remedy.js";
export {
  PinBook,
  PinFileError,
  PinFileSchema,
  mergePinFile,
  readPinFile,
  writePinFile,
  acceptPending,
  hasHidingCharacters,
  escapeHidingCharacters,
  listedTool,
  CHANGE_KINDS,
  type PinFile,
  type PinnedTool,
  type Change,
  type ChangeKind,
  type ListedTool,
} from "./pin.js";
