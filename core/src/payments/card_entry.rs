//! Reading the card, chip first: a swiped chip card is sent back to its chip, and a swipe is
//! taken from a chip card only as the fallback after its chip could not be read, once per
//! sale. The reader vouches for the fallback under its MAC and the platform applies the same
//! rule from the decrypted service code, so neither a phone nor a reader can downgrade a chip
//! card to its stripe unnoticed.

use crate::reader::card::{CardDataError, CardRead, EntryModes};
use crate::reader::commands::Status;
use crate::reader::connection::ReaderError;
use crate::reader::controller::CardReader;

use super::{SaleListener, SaleStep, CARD_TIMEOUT_SECS};

/// Reads a card for `amount_fen`: any entry mode first; a swiped chip card again by chip; a
/// chip that fails, once by swipe as a fallback.
pub(super) async fn read_chip_first(
    reader: &CardReader,
    amount_fen: u64,
    listener: &dyn SaleListener,
) -> Result<CardRead, ReaderError> {
    let mut modes = EntryModes::ALL;
    loop {
        match reader.read_card(amount_fen, modes, false, CARD_TIMEOUT_SECS).await {
            Err(ReaderError::CardData(CardDataError::ChipCardSwiped)) if modes == EntryModes::ALL => {
                listener.on_step(SaleStep::UseChip);
                modes = EntryModes::CHIP;
            }
            Err(ReaderError::Refused(Status::ChipUnreadable)) => {
                listener.on_step(SaleStep::SwipeFallback);
                return reader.read_card(amount_fen, EntryModes::SWIPE, true, CARD_TIMEOUT_SECS).await;
            }
            other => return other,
        }
    }
}
