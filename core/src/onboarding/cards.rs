//! Real-name details and settlement cards. Full card and ID numbers are checked on the phone,
//! sent to the platform once (TLS, signed request) and dropped; only masked forms are stored.

use std::sync::Arc;

use reqwest::Method;

use super::checks::{check_bank_card, check_credit_code, check_holder_name, check_mobile, check_resident_id};
use crate::account::Accounts;
use crate::error::{Error, InternalError};
use crate::platform::wire::{
    BindCardConfirm, BindCardRequest, BindCardStarted, CardIdRequest, CardsResponse, MerchantProfileWire,
    RealNameRequest, SettlementCardWire, UnbindCardRequest,
};
use crate::storage::Db;

pub type SettlementCard = SettlementCardWire;
pub type PendingCardBinding = BindCardStarted;

/// What the merchant types to prove who they are.
#[derive(Clone)]
pub struct RealName {
    pub holder_name: String,
    pub id_number: String,
    pub merchant_name: String,
    pub credit_code: Option<String>,
}

/// The four elements of a settlement card.
#[derive(Clone)]
pub struct CardElements {
    pub card_number: String,
    pub holder_name: String,
    pub id_number: String,
    pub reserved_phone: String,
}

pub(crate) struct Cards {
    db: Arc<Db>,
}

fn refuse(field: &str, valid: bool, reason: Option<String>) -> Result<(), Error> {
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(field, reason.unwrap_or_else(|| "invalid".into())))
    }
}

impl Cards {
    pub fn new(db: Arc<Db>) -> Self {
        Cards { db }
    }

    pub async fn submit_real_name(&self, accounts: &Accounts, r: RealName) -> Result<MerchantProfileWire, Error> {
        let name = check_holder_name(&r.holder_name);
        refuse("holder_name", name.valid, name.reason)?;
        let id = check_resident_id(&r.id_number);
        refuse("id_number", id.valid, id.reason)?;
        if let Some(code) = &r.credit_code {
            let c = check_credit_code(code);
            refuse("credit_code", c.valid, c.reason)?;
        }
        let body = RealNameRequest {
            holder_name: r.holder_name.trim().into(),
            id_number: r.id_number.trim().to_ascii_uppercase(),
            merchant_name: r.merchant_name.trim().into(),
            credit_code: r.credit_code,
        };
        accounts.signed(Method::POST, "v1/merchant/real-name", Some(&body), false).await
    }

    /// Checks the four elements, then asks the platform to verify them with the bank and text
    /// an SMS code to the reserved phone.
    pub async fn start_binding(&self, accounts: &Accounts, c: CardElements) -> Result<PendingCardBinding, Error> {
        let card = check_bank_card(&c.card_number);
        refuse("card_number", card.valid, card.reason)?;
        let name = check_holder_name(&c.holder_name);
        refuse("holder_name", name.valid, name.reason)?;
        let id = check_resident_id(&c.id_number);
        refuse("id_number", id.valid, id.reason)?;
        let phone = check_mobile(&c.reserved_phone);
        refuse("reserved_phone", phone.valid, phone.reason)?;
        let body = BindCardRequest {
            card_number: c.card_number.chars().filter(char::is_ascii_digit).collect(),
            holder_name: c.holder_name.trim().into(),
            id_number: c.id_number.trim().to_ascii_uppercase(),
            reserved_phone: normalise_mobile(&c.reserved_phone),
        };
        accounts.signed(Method::POST, "v1/cards/bind", Some(&body), false).await
    }

    pub async fn confirm_binding(
        &self,
        accounts: &Accounts,
        merchant_id: &str,
        bind_id: String,
        sms_code: String,
    ) -> Result<SettlementCard, Error> {
        if let Some(problem) = crate::account::validate::sms_code_problem(&sms_code) {
            return Err(Error::invalid("sms_code", problem));
        }
        let body = BindCardConfirm { bind_id, sms_code };
        let card: SettlementCard = accounts.signed(Method::POST, "v1/cards/bind/confirm", Some(&body), false).await?;
        self.refresh(accounts, merchant_id).await?;
        Ok(card)
    }

    /// The bound cards from the platform; the local copy is replaced.
    pub async fn refresh(&self, accounts: &Accounts, merchant_id: &str) -> Result<Vec<SettlementCard>, Error> {
        let list: CardsResponse = accounts.signed::<(), _>(Method::GET, "v1/cards", None, true).await?;
        self.store(merchant_id, &list.cards)?;
        Ok(list.cards)
    }

    pub async fn set_default(
        &self,
        accounts: &Accounts,
        merchant_id: &str,
        card_id: String,
    ) -> Result<Vec<SettlementCard>, Error> {
        let list: CardsResponse =
            accounts.signed(Method::POST, "v1/cards/default", Some(&CardIdRequest { card_id }), false).await?;
        self.store(merchant_id, &list.cards)?;
        Ok(list.cards)
    }

    /// Unbinds a card; needs the account password (step-up).
    pub async fn unbind(
        &self,
        accounts: &Accounts,
        merchant_id: &str,
        card_id: String,
        password: String,
    ) -> Result<Vec<SettlementCard>, Error> {
        let body = UnbindCardRequest { card_id, password };
        let list: CardsResponse = accounts.signed(Method::POST, "v1/cards/unbind", Some(&body), false).await?;
        self.store(merchant_id, &list.cards)?;
        Ok(list.cards)
    }

    /// The cards last listed, without network.
    pub fn cached(&self, merchant_id: &str) -> Result<Vec<SettlementCard>, Error> {
        Ok(self.db.with(|c| {
            let mut q = c.prepare(
                "SELECT card_id, masked, issuer_bank, card_kind, is_default, bound_at FROM settlement_cards
                 WHERE merchant_id = ?1 ORDER BY is_default DESC, bound_at",
            )?;
            let cards = q.query_map([merchant_id], |r| {
                Ok(SettlementCard {
                    card_id: r.get(0)?,
                    masked: r.get(1)?,
                    issuer_bank: r.get(2)?,
                    card_kind: r.get(3)?,
                    is_default: r.get(4)?,
                    bound_at: r.get(5)?,
                })
            })?;
            Ok(cards.collect::<Result<Vec<_>, _>>()?)
        })?)
    }

    fn store(&self, merchant_id: &str, cards: &[SettlementCard]) -> Result<(), InternalError> {
        self.db.write(|tx| {
            tx.execute("DELETE FROM settlement_cards WHERE merchant_id = ?1", [merchant_id])?;
            for card in cards {
                tx.execute(
                    "INSERT INTO settlement_cards (card_id, merchant_id, masked, issuer_bank, card_kind, is_default, bound_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    (&card.card_id, merchant_id, &card.masked, &card.issuer_bank, &card.card_kind, card.is_default, card.bound_at),
                )?;
            }
            Ok(())
        })
    }
}

/// The 11-digit form of a mobile number typed with a +86 prefix, spaces or hyphens.
fn normalise_mobile(phone: &str) -> String {
    let digits: String = phone.chars().filter(char::is_ascii_digit).collect();
    match digits.len() {
        13 if digits.starts_with("86") => digits[2..].to_string(),
        _ => digits,
    }
}
