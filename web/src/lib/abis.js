// The contracts' ABIs, built from contracts/ (python -m inferix.abi) and bundled: the app trusts no server for them.
import BMWIssuance from "../../../inferix/abis/BMWIssuance.json";
import BatchCommittee from "../../../inferix/abis/BatchCommittee.json";
import BatchLane from "../../../inferix/abis/BatchLane.json";
import Governor from "../../../inferix/abis/Governor.json";
import IFXToken from "../../../inferix/abis/IFXToken.json";
import JobEscrow from "../../../inferix/abis/JobEscrow.json";
import JobRelay from "../../../inferix/abis/JobRelay.json";
import LicenseSale from "../../../inferix/abis/LicenseSale.json";
import NodeLicense from "../../../inferix/abis/NodeLicense.json";
import PriceFeedAdapter from "../../../inferix/abis/PriceFeedAdapter.json";
import ProofOfRender from "../../../inferix/abis/ProofOfRender.json";
import RandomnessBeacon from "../../../inferix/abis/RandomnessBeacon.json";
import Staking from "../../../inferix/abis/Staking.json";
import Timelock from "../../../inferix/abis/Timelock.json";
import VestingEscrow from "../../../inferix/abis/VestingEscrow.json";
import VestingFactory from "../../../inferix/abis/VestingFactory.json";
import VotePower from "../../../inferix/abis/VotePower.json";

export const ABIS = {
  BMWIssuance,
  BatchCommittee,
  BatchLane,
  Governor,
  IFXToken,
  JobEscrow,
  JobRelay,
  LicenseSale,
  NodeLicense,
  PriceFeedAdapter,
  ProofOfRender,
  RandomnessBeacon,
  Staking,
  Timelock,
  VestingEscrow,
  VestingFactory,
  VotePower,
};
// deployed under another name than their contract (scripts/deploy.py)
export const ROLE_CONTRACTS = { CommunityFund: "VestingFactory" };
